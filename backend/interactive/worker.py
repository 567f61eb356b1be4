"""One inference job: bring the object's click session to the wanted clicks and post-process the mask.

Runs in a Celery worker (team mode) or a thread of the web process (embedded mode). The job is a pure
function of the stored session state and the wanted clicks, so any worker can serve any click, and a job
lost with its worker is simply sent again.
"""

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from backend.interactive.caches import LRU, ImageCache, engine
from backend.interactive.codec import decode_state, encode_state
from backend.interactive.store import ProcessStateStore, RedisStateStore, StateStore
from backend.interactive.working_copy import WorkingImage
from ml.inference.clicks import Click
from ml.inference.navigate import goto_clicks
from ml.inference.predictor import ClickSession
from ml.postprocess import finish_object

log = logging.getLogger(__name__)


@dataclass
class Live:
    version: int
    session: ClickSession
    lock: threading.Lock


WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
_images = ImageCache(settings.INFERENCE_IMAGE_CACHE_BYTES)
_sessions: LRU[str, Live] = LRU(settings.INFERENCE_SESSION_CACHE_SIZE)
_store: StateStore = RedisStateStore(settings.REDIS_URL) if settings.REDIS_URL else ProcessStateStore()


def state_store() -> StateStore:
    return _store


class JobError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _new_session(job: dict[str, Any], image: WorkingImage) -> ClickSession:
    try:
        model = engine(job["model"])
    except Exception as exc:  # noqa: BLE001 - a missing or broken model is reported, not raised
        raise JobError("model_unavailable", f"Model {job['model']!r} cannot be loaded: {exc}") from exc
    session = ClickSession(model, zoom_in=True)
    session.set_image(image.rgb)
    return session


def _session_for(job: dict[str, Any], image: WorkingImage) -> tuple[Live, bool]:
    """The live session (from this process, else from the store, else new) and whether it starts empty.

    Starting empty with clicks to apply means replaying them one by one (a resumed object, or state lost).
    """
    session_id = job["session"]
    stored_version = _store.version(session_id)
    live = _sessions.get(session_id)
    if live is not None and live.version >= stored_version:
        return live, False
    session = _new_session(job, image)
    loaded = _store.load(session_id) if stored_version else None
    restored = False
    if loaded is not None:
        try:
            session.load_state(decode_state(loaded[1]))
            restored = True
        except (ValueError, KeyError) as exc:
            log.warning("click state of %s unusable (%s); rebuilding from the clicks", session_id, exc)
    # Continue the stored version numbering even when rebuilding, so this state's saves are accepted.
    live = Live(max(stored_version, loaded[0] if loaded else 0), session, threading.Lock())
    _sessions.put(session_id, live)
    return live, not restored


def prepare(*, model: str, image: dict[str, str]) -> None:
    """Load ``model`` and ``image``'s working copy into this process's caches, so that its first click only runs
    the network (a huge image's working copy is built now if no worker has built it yet).

    Best effort: a failure here is reported by the click that needs the model or image.
    """
    try:
        engine(model)
        _images.get(image["sha256"], image["path"])
    except Exception as exc:  # noqa: BLE001
        log.info("could not prepare %s / %s: %s", model, image.get("path"), exc)


def _load_image(job: dict[str, Any]) -> WorkingImage:
    try:
        return _images.get(job["image"]["sha256"], job["image"]["path"])
    except OSError as exc:
        raise JobError("image_unavailable", f"The image cannot be read: {exc}") from exc


def run_job(job: dict[str, Any]) -> tuple[dict[str, Any], Callable[[], None]]:
    """(the reply for the client, a function that persists the new state — call it after replying)."""
    started = time.time()
    timings = {"queue_s": max(0.0, started - job["submitted_at"])}
    try:
        t0 = time.perf_counter()
        image = _load_image(job)
        live, from_scratch = _session_for(job, image)
        timings["load_s"] = time.perf_counter() - t0
        with live.lock:
            t1 = time.perf_counter()
            frame = image.frame  # clicks and shapes are in image pixels, the session in working pixels
            wanted = [frame.click_to_working(Click(float(x), float(y), bool(p))) for x, y, p in job["clicks"]]
            steps = goto_clicks(live.session, wanted, replay=from_scratch)
            timings["forward_s"] = time.perf_counter() - t1
            t2 = time.perf_counter()
            options = job["options"]
            shape = finish_object(
                live.session.probability,
                thresh=options["threshold"],
                largest_only=options["largest_component"],
                tolerance=options["tolerance"],
            )
            shape = frame.shape_to_image(shape)
            timings["post_s"] = time.perf_counter() - t2
            live.version += 1
            version = live.version
            history = (live.session.can_undo, live.session.can_redo)
    except JobError as exc:
        return {"ok": False, "seq": job["seq"], "code": exc.code, "message": exc.message}, lambda: None
    timings["total_s"] = time.time() - job["submitted_at"]
    reply = {
        "ok": True,
        "seq": job["seq"],
        "clicks": len(job["clicks"]),
        "steps": steps,
        # the client had masks from this object's state, but it was lost: it was rebuilt from the clicks
        "rebuilt": from_scratch and bool(job.get("expect_state")),
        "rle": shape["rle"],  # at the working size: smaller than the image when the image is huge
        "bbox": shape["bbox"],
        "area": shape["area"],
        "polygons": shape["polygons"],
        "can_undo": history[0],
        "can_redo": history[1],
        "latency": {key: round(value, 4) for key, value in timings.items()},
        "worker": WORKER_ID,
    }
    return reply, lambda: _persist(job["session"], live, version)


def _persist(session_id: str, live: Live, version: int) -> None:
    if not _store.persistent:
        _store.save(session_id, version, b"")
        return
    with live.lock:
        blob = encode_state(live.session.export_state())
    _store.save(session_id, version, blob)


def forget(session_id: str) -> None:
    _sessions.pop(session_id)
    _store.delete(session_id)
