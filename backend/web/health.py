"""What a load balancer or an operator asks of a web process: is it up (``/healthz``), and can it serve a team
now (``/readyz``: the database answers, Redis answers in team mode, and at least one inference process has the
default model loaded and warm)."""

from dataclasses import asdict, dataclass
from typing import Any

import redis
from django.conf import settings
from django.db import connection
from django.db.utils import DatabaseError

from backend.interactive import liveness
from backend.interactive.jobs import click_jobs, current_readiness, worker_id


@dataclass(frozen=True)
class Check:
    ok: bool
    message: str = ""


def database_check() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return Check(True)
    except DatabaseError as exc:
        connection.close()  # a restarted server: the next request opens a new connection
        return Check(False, f"The database cannot be reached: {exc}")


def redis_check() -> Check | None:
    """None in the embedded default (no Redis)."""
    client = liveness.client()
    if client is None:
        return None
    try:
        client.ping()
        return Check(True)
    except redis.RedisError as exc:
        return Check(False, f"Redis cannot be reached: {exc}")


def readiness_report(*, details: bool) -> tuple[bool, dict[str, Any]]:
    """(ready, the report): per check ``true``/``false`` (``null``: not used here); with ``details``, why not."""
    database, cache = database_check(), redis_check()
    inference = current_readiness() if cache is None or cache.ok else None
    checks = {
        "database": database.ok,
        "redis": None if cache is None else cache.ok,
        "inference": bool(inference and inference.ready),
    }
    ready = all(value is not False for value in checks.values())
    report: dict[str, Any] = {"ready": ready, "checks": checks, "model": settings.DEFAULT_MODEL_NAME}
    if details:
        reasons = [check.message for check in (database, cache) if check is not None and not check.ok]
        if inference is not None and not inference.ready:
            reasons.append(inference.message)
        report |= {
            "reasons": reasons,
            "warm_workers": inference.workers if inference else 0,
            "workers": inference_processes() if cache is None or cache.ok else [],
        }
    return ready, report


def inference_processes() -> list[dict[str, Any]]:
    """Each live inference process: ``worker``, ``warm``, ``job_s`` (recent seconds per click), ``device``
    (``cpu`` or its GPU) and ``error`` (why its model did not load)."""
    if not click_jobs.uses_celery:
        return [asdict(liveness.this_process.liveness(worker_id()))]
    try:
        return [asdict(worker) for worker in liveness.alive_workers()]
    except redis.RedisError:
        return []
