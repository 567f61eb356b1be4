"""Which inference processes are alive and warm right now, and how long their clicks take.

This is what overload answers (``admission``), failover of a click whose worker died (the consumer) and
``/readyz`` read; ``inference_status`` describes the same processes at length for ``/healthz``.

Team mode: every inference worker writes ``edgeflow:inference:alive:<worker>`` every ``ALIVE_EVERY_S`` with a
time to live of ``ALIVE_TTL_S`` (Redis expires it, so no clocks are compared across machines): its ``warm`` flag
(set once its warm-up forward has run), the mean seconds of its recent clicks and its device. A worker killed
with ``kill -9`` is gone from the readers' view within ``ALIVE_TTL_S``. Embedded mode: this process itself.
"""

import json
import threading
from dataclasses import asdict, dataclass
from typing import Any

import redis
from django.conf import settings

ALIVE_PREFIX = "edgeflow:inference:alive:"
ALIVE_INDEX = "edgeflow:inference:alive-index"  # the worker ids that wrote an alive key (the readers prune it)
ALIVE_EVERY_S = 1.0
ALIVE_TTL_S = 5  # a few beats: a worker whose beat thread waits for a busy CPU is not taken for dead
JOB_SECONDS_PRIOR = 0.3  # a click's seconds until this process has measured some
JOB_SECONDS_WEIGHT = 0.2  # of the newest click in the running mean


@dataclass(frozen=True)
class WorkerLiveness:
    worker: str
    warm: bool  # its warm-up forward has run: its next click costs one forward, not a model load
    job_s: float  # recent mean seconds per click (queue excluded)
    device: str = "cpu"
    error: str = ""  # why its warm-up failed (e.g. a missing model file): it serves no click

    @property
    def warming(self) -> bool:
        return not self.warm and not self.error


class _ThisProcess:
    """This inference process's own figures (thread-safe: jobs run in one thread, beats in another)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.warm = False
        self.job_s = JOB_SECONDS_PRIOR
        self.error = ""
        self.device = "cpu"

    def mark_warm(self, seconds: float, device: str = "cpu") -> None:
        with self._lock:
            self.warm, self.job_s, self.device, self.error = True, max(seconds, 0.001), device, ""

    def mark_failed(self, error: str) -> None:
        with self._lock:
            self.warm, self.error = False, error

    def record_job(self, seconds: float) -> None:
        with self._lock:
            self.job_s += JOB_SECONDS_WEIGHT * (seconds - self.job_s)

    def liveness(self, worker: str) -> WorkerLiveness:
        with self._lock:
            return WorkerLiveness(worker, self.warm, round(self.job_s, 4), self.device, self.error)


this_process = _ThisProcess()


# ---------------------------------------------------------------------------------------------- Redis
_clients: dict[str, redis.Redis] = {}


def client() -> redis.Redis | None:
    """This process's client of ``REDIS_URL`` (None in the embedded default); short time-outs, so that a Redis
    being restarted makes readers answer "not ready" at once rather than hang."""
    url = settings.REDIS_URL
    if not url:
        return None
    if url not in _clients:
        _clients[url] = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    return _clients[url]


def beat(worker: str) -> None:
    """Write this worker's liveness (team mode); called every ``ALIVE_EVERY_S`` by the heartbeat thread."""
    redis_client = client()
    if redis_client is None:
        return
    value = json.dumps(asdict(this_process.liveness(worker)))
    with redis_client.pipeline(transaction=False) as pipe:
        pipe.set(ALIVE_PREFIX + worker, value, ex=ALIVE_TTL_S)
        pipe.sadd(ALIVE_INDEX, worker)
        pipe.execute()


def gone(worker: str) -> None:
    """This worker stops (a warm shutdown): readers stop counting it at once."""
    redis_client = client()
    if redis_client is not None:
        redis_client.delete(ALIVE_PREFIX + worker)
        redis_client.srem(ALIVE_INDEX, worker)


def alive_workers() -> list[WorkerLiveness]:
    """The inference workers whose alive key has not expired (team mode), sorted by id. Raises RedisError."""
    redis_client = client()
    if redis_client is None:
        return []
    ids = sorted(member.decode() for member in redis_client.smembers(ALIVE_INDEX))
    if not ids:
        return []
    values = redis_client.mget([ALIVE_PREFIX + worker for worker in ids])
    found, expired = [], []
    for worker, value in zip(ids, values, strict=True):
        if value is None:
            expired.append(worker)
        else:
            found.append(_parse(json.loads(value)))
    if expired:
        redis_client.srem(ALIVE_INDEX, *expired)
    return found


def is_alive(worker: str) -> bool:
    """Whether ``worker``'s alive key is there (team mode). A Redis that cannot be asked counts as alive: the
    click's own time-out still applies, and re-sending to a queue that cannot be reached would not help."""
    redis_client = client()
    if redis_client is None:
        return True
    try:
        return bool(redis_client.exists(ALIVE_PREFIX + worker))
    except redis.RedisError:
        return True


def _parse(value: dict[str, Any]) -> WorkerLiveness:
    return WorkerLiveness(
        worker=str(value["worker"]),
        warm=bool(value["warm"]),
        job_s=float(value["job_s"]),
        device=str(value.get("device", "cpu")),
        error=str(value.get("error", "")),
    )
