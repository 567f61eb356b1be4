"""What runs the model where: each inference process's CPU, its device (the GPU its engines run on, or ``cpu``)
and the engine each of its models runs on.

An inference process (a Celery inference worker, or the web process in the embedded default) describes itself with
:func:`local_status`. In team mode a worker's heartbeat thread (:func:`start_heartbeat`) also publishes that
description every ``HEARTBEAT_EVERY_S`` into one Redis hash, ``edgeflow:inference:workers`` (worker id → status
with the time it was ``seen``), so the web process lists the live workers in one call, without importing the
model's libraries; entries not renewed for ``HEARTBEAT_TTL_S`` are dropped by the reader. ``/healthz`` shows
:func:`inference_status`. The same thread writes the worker's short-lived alive key every second
(``backend.interactive.liveness``: what overload answers, failover and ``/readyz`` read).
"""

import json
import logging
import os
import threading
import time
from typing import Any

import redis
from django.conf import settings

from backend.interactive import caches, liveness

log = logging.getLogger(__name__)

REGISTRY_KEY = "edgeflow:inference:workers"
HEARTBEAT_TTL_S = 120
HEARTBEAT_EVERY_S = 30

_clients: dict[str, redis.Redis] = {}
_heartbeat_pid: int | None = None  # the process whose heartbeat thread runs (a forked child has none)
_heartbeat_lock = threading.Lock()
_heartbeat_stop = threading.Event()


def local_status(worker: str) -> dict[str, Any]:
    """This process: its id, whether it is warm and its recent seconds per click (``liveness``), its CPU, the
    device its models run on, the GPU torch sees here (or None), and per loaded model the engine it runs on.

    ``device`` is ``"cpu"`` or the GPU, ``"cuda:0 (NVIDIA L4)"``: the loaded engines' device (both, comma
    separated, when one model fell back to the CPU and another did not), or before any model is loaded the one
    the default choice would use. A GPU machine whose workers say ``cpu`` was told to
    (``INFERENCE_ENGINE``) or fell back (its log says why)."""
    from ml.inference.engines import engine_device, engine_name
    from ml.inference.engines.choice import cpu_info, device_description, gpu_info

    alive = liveness.this_process.liveness(worker)
    engines = caches.loaded_models()
    devices = sorted({engine_device(engine) for engine in engines.values()})
    gpu = gpu_info()
    return {
        "worker": worker,
        "warm": alive.warm,
        "job_s": alive.job_s,
        "cpu": cpu_info().as_dict(),
        "device": ", ".join(devices) if devices else device_description(),
        "gpu": gpu.as_dict() if gpu is not None else None,
        "engines": {model: engine_name(engine) for model, engine in engines.items()},
    }


def _client() -> redis.Redis | None:
    """This process's client of ``REDIS_URL`` (None in the embedded default)."""
    url = settings.REDIS_URL
    if not url:
        return None
    return _clients.get(url) or _clients.setdefault(url, redis.Redis.from_url(url))


def publish(worker: str) -> None:
    """Write this worker's status, seen now (team mode)."""
    client = _client()
    if client is not None:
        client.hset(REGISTRY_KEY, worker, json.dumps({**local_status(worker), "seen": time.time()}))


def start_heartbeat(worker: str) -> None:
    """Publish now (the worker is listed and alive before it takes its first click), then from a daemon thread:
    the alive key every ``liveness.ALIVE_EVERY_S``, the status every ``HEARTBEAT_EVERY_S``, for as long as this
    process lives (idle or not) or until :func:`stop_heartbeat`; once per process."""
    global _heartbeat_pid, _heartbeat_stop
    with _heartbeat_lock:
        if _heartbeat_pid == os.getpid():
            return
        _heartbeat_pid, _heartbeat_stop = os.getpid(), threading.Event()
    _publish_both(worker, status=True)
    threading.Thread(target=_beat, args=(worker, _heartbeat_stop), name="inference-heartbeat", daemon=True).start()


def stop_heartbeat(worker: str | None = None) -> None:
    """Stop beating; with ``worker``, also withdraw its alive key (a warm shutdown: readers stop counting it)."""
    global _heartbeat_pid
    with _heartbeat_lock:
        _heartbeat_pid = None
        _heartbeat_stop.set()
    if worker is not None:
        try:
            liveness.gone(worker)
        except redis.RedisError as exc:
            log.warning("inference worker %s not withdrawn: %s", worker, exc)


def _beat(worker: str, stop: threading.Event) -> None:
    last_status = time.monotonic()
    while not stop.wait(min(liveness.ALIVE_EVERY_S, HEARTBEAT_EVERY_S)):
        due = time.monotonic() - last_status >= HEARTBEAT_EVERY_S
        if _publish_both(worker, status=due) and due:
            last_status = time.monotonic()


def publish_now(worker: str) -> None:
    """Publish the alive key and the status at once (the worker's warmth changed)."""
    _publish_both(worker, status=True)


def _publish_both(worker: str, *, status: bool) -> bool:
    try:
        liveness.beat(worker)
        if status:
            publish(worker)
        return True
    except redis.RedisError as exc:  # Redis restarting: the next beat tries again
        log.warning("inference heartbeat not published: %s", exc)
        return False


def published_workers() -> list[dict[str, Any]]:
    """The live workers' published statuses (team mode), sorted by worker id; stale entries are removed."""
    client = _client()
    if client is None:
        return []
    oldest = time.time() - HEARTBEAT_TTL_S
    live, stale = [], []
    for worker, value in sorted(client.hgetall(REGISTRY_KEY).items()):
        status = json.loads(value)
        if status.get("seen", 0) >= oldest:
            live.append(status)
        else:
            stale.append(worker)
    if stale:
        client.hdel(REGISTRY_KEY, *stale)
    return live


def inference_status(*, in_process: bool, worker: str) -> dict[str, Any]:
    """``{"backend": "local"|"celery", "workers": [...]}``: this process when it runs the model itself (only once
    a model is loaded: describing the CPU imports OpenVINO), else the workers that published a heartbeat."""
    if in_process:
        workers = [local_status(worker)] if caches.loaded_models() else []
        return {"backend": "local", "workers": workers}
    return {"backend": "celery", "workers": published_workers()}
