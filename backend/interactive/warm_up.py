"""An inference process is ready only after its warm-up: the model loaded and two clicks computed on a made-up
photo (the whole-image forward, then a zoom-in crop), so that engines that compile or allocate at their first
inference do it now, not in someone's first click. ``liveness.this_process`` then reads warm, with the second
click's seconds as its first estimate of a click's cost."""

import logging
import time

import numpy as np

from backend.interactive import caches, liveness

log = logging.getLogger(__name__)

WARM_UP_SIZE = (480, 640)  # rows, columns: a typical photo's shape at a size the first forward sees often


def warm_up(model: str) -> float:
    """Load ``model`` and compute two clicks with it; mark this process warm. Returns the second click's seconds.
    Raises what loading or running the model raises (the caller reports it; the process stays unwarm)."""
    from ml.inference.clicks import Click
    from ml.inference.predictor import ClickSession

    session = ClickSession(caches.loaded_model(model), zoom_in=True)
    session.set_image(_made_up_photo())
    rows, cols = WARM_UP_SIZE
    session.goto([Click(cols / 2, rows / 2, True)])
    started = time.perf_counter()
    session.goto([Click(cols / 2, rows / 2, True), Click(cols / 2 + 60, rows / 2, False)])
    seconds = time.perf_counter() - started
    liveness.this_process.mark_warm(seconds, device=_device_of(session))
    log.info("inference warm: %s computed a click in %.3f s", model, seconds)
    return seconds


def _made_up_photo() -> np.ndarray:
    """A bright disc on a shaded background: something for the clicks to find."""
    rows, cols = WARM_UP_SIZE
    y, x = np.mgrid[0:rows, 0:cols]
    disc = (x - cols / 2) ** 2 + (y - rows / 2) ** 2 < (rows / 4) ** 2
    photo = np.stack([x * 255 // cols, y * 255 // rows, np.full_like(x, 96)], axis=-1).astype(np.uint8)
    photo[disc] = (230, 200, 40)
    return photo


def _device_of(session: object) -> str:
    """The device the session's engine runs on: ``cpu``, or its GPU named (``"cuda:0 (NVIDIA L4)"``)."""
    from ml.inference.engines import engine_device

    engine = getattr(session, "engine", None)
    return engine_device(engine) if engine is not None else "cpu"
