"""What runs the model where: each inference process's CPU and the engine each of its models runs on.

An inference process (a Celery inference worker, or the web process in the embedded default) describes itself with
:func:`local_status` once a model is loaded. In team mode it also publishes that description to Redis under
``edgeflow:inference:worker:<worker id>`` for ``HEARTBEAT_TTL_S`` (renewed after jobs, at most every
``HEARTBEAT_EVERY_S``), so the web process can list the live workers without importing the model's libraries.
``/healthz`` shows :func:`inference_status`.
"""

import json
import time
from typing import Any

import redis
from django.conf import settings

from backend.interactive import caches

KEY_PREFIX = "edgeflow:inference:worker:"
HEARTBEAT_TTL_S = 120
HEARTBEAT_EVERY_S = 30

_last_heartbeat = 0.0


def local_status(worker: str) -> dict[str, Any]:
    """This process: its id, its CPU, and per loaded model the engine it runs on."""
    from ml.inference.engines import engine_name
    from ml.inference.engines.choice import cpu_info

    return {
        "worker": worker,
        "cpu": cpu_info().as_dict(),
        "engines": {model: engine_name(engine) for model, engine in caches.loaded_models().items()},
    }


def _client() -> redis.Redis | None:
    return redis.Redis.from_url(settings.REDIS_URL) if settings.REDIS_URL else None


def heartbeat(worker: str, *, force: bool = False) -> None:
    """Publish this worker's status (team mode; at most every ``HEARTBEAT_EVERY_S`` unless forced)."""
    global _last_heartbeat
    if not force and time.monotonic() - _last_heartbeat < HEARTBEAT_EVERY_S:
        return  # most click jobs: no Redis client built, nothing sent
    client = _client()
    if client is None:
        return
    _last_heartbeat = time.monotonic()
    client.set(KEY_PREFIX + worker, json.dumps(local_status(worker)), ex=HEARTBEAT_TTL_S)


def published_workers() -> list[dict[str, Any]]:
    """The live workers' published statuses (team mode), sorted by worker id."""
    client = _client()
    if client is None:
        return []
    keys = sorted(client.scan_iter(match=KEY_PREFIX + "*", count=100))
    values = client.mget(keys) if keys else []
    return [json.loads(value) for value in values if value]


def inference_status(*, in_process: bool, worker: str) -> dict[str, Any]:
    """``{"backend": "local"|"celery", "workers": [...]}``: this process when it runs the model itself (only once
    a model is loaded: describing the CPU imports OpenVINO), else the workers that published a heartbeat."""
    if in_process:
        workers = [local_status(worker)] if caches.loaded_models() else []
        return {"backend": "local", "workers": workers}
    return {"backend": "celery", "workers": published_workers()}
