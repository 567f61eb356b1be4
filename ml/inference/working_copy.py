"""The pixels a click session works on: the image itself, or for a huge one a bounded working copy.

A tiled image (``path`` is its tile pyramid, :mod:`ml.inference.pyramid`) has no working copy: only its pyramid
and an 800-px view of it are kept (:func:`load_tiled_image`); its sessions read regions as they need them.

An image above ``INFERENCE_MAX_PIXELS`` is decoded once, scaled down (JPEG: decoded at 1/2, 1/4 or 1/8 scale
directly) and kept in ``INFERENCE_WORKING_DIR`` as ``{sha256}-{max_pixels}.npz``, written atomically, so every
worker process and every restart reuses it without touching the original again. The full-resolution decode
is transient; what is kept is bounded by the limit.
"""

import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from ml.inference.image import (
    ROTATED_ORIENTATIONS,
    UPRIGHT,
    displayable,
    exif_orientation,
    read_upright_rgb,
    to_rgb_uint8,
)
from ml.inference.pyramid import Pyramid, is_pyramid
from ml.inference.working import WorkingFrame
from ml.inference.zoom_in import full_view

log = logging.getLogger(__name__)

SAFE_KEY = re.compile(r"[0-9A-Za-z_-]{1,128}")


@dataclass(frozen=True)
class WorkingImage:
    rgb: np.ndarray  # read-only RGB uint8 of frame.work_shape; a tiled image's: its first click's view
    frame: WorkingFrame
    pyramid: Pyramid | None = None  # a tiled image: sessions read it region by region (ml.inference.tiled)


def load_tiled_image(path: str, max_size: int = 800) -> WorkingImage:
    """A tiled image: its pyramid, and the whole image at the first click's network size (longer side
    ``max_size``, the session's whole-image view), read from a coarse level. Nothing else is decoded or kept:
    clicks read their zoom-in regions from the pyramid (``ml.inference.tiled``), in image pixels."""
    pyramid = Pyramid.open(path)
    height, width = pyramid.height, pyramid.width
    view = full_view(height, width, max_size)
    rgb = pyramid.read_view(view.box, *view.size)
    rgb.flags.writeable = False
    return WorkingImage(rgb, WorkingFrame(width, height, width, height), pyramid)


def load_working_image(path: str, key: str, *, max_pixels: int, folder: Path) -> WorkingImage:
    """The image at ``path`` (content hash ``key``) as a click session should see it; raises OSError if unreadable."""
    if is_pyramid(path):
        return load_tiled_image(path)
    stored = folder / f"{key}-{max_pixels}.npz" if SAFE_KEY.fullmatch(key) else None
    cached = _read_stored(stored, max_pixels) if stored else None
    if cached is not None:
        return cached
    with PILImage.open(path) as img:
        orientation = exif_orientation(img)
        width, height = (img.height, img.width) if orientation in ROTATED_ORIENTATIONS else img.size
        frame = WorkingFrame.fit(width, height, max_pixels)
        if not frame.scaled:
            return _frozen(read_upright_rgb(img), frame)
        rgb = _read_scaled(img, orientation, frame)
    if stored:
        _store(stored, rgb, frame)
    return _frozen(rgb, frame)


def _read_scaled(img: PILImage.Image, orientation: int | None, frame: WorkingFrame) -> np.ndarray:
    size = (frame.work_width, frame.work_height)
    stored_size = size[::-1] if orientation in ROTATED_ORIENTATIONS else size
    img.draft(None, stored_size)  # JPEG: let the decoder scale down (to no less than the size)
    small = displayable(img).resize(stored_size, PILImage.Resampling.BILINEAR, reducing_gap=2.0)
    if orientation in UPRIGHT:
        small = small.transpose(UPRIGHT[orientation])
    return to_rgb_uint8(np.asarray(small))


def _frozen(rgb: np.ndarray, frame: WorkingFrame) -> WorkingImage:
    rgb.flags.writeable = False
    return WorkingImage(rgb, frame)


def _read_stored(path: Path, max_pixels: int) -> WorkingImage | None:
    """The stored working copy, or None when there is none or it does not fit its own description."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            rgb, (width, height) = npz["rgb"], (int(v) for v in npz["size"])
        frame = WorkingFrame.fit(width, height, max_pixels)
    except FileNotFoundError:
        return None
    except Exception as exc:  # noqa: BLE001 - a damaged file is built again
        log.warning("working copy %s unusable (%s); building it again", path, exc)
        return None
    if not frame.scaled or rgb.dtype != np.uint8 or rgb.shape != (*frame.work_shape, 3):
        log.warning("working copy %s does not match its image; building it again", path)
        return None
    return _frozen(rgb, frame)


def _store(path: Path, rgb: np.ndarray, frame: WorkingFrame) -> None:
    """Write atomically (a complete file or none), so concurrent workers never read a partial copy."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    except OSError as exc:
        log.warning("could not keep the working copy %s (%s); it will be built again", path, exc)
        return
    try:
        with os.fdopen(handle, "wb") as f:
            np.savez(f, rgb=rgb, size=np.array([frame.width, frame.height]))
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except OSError as exc:
        Path(temp).unlink(missing_ok=True)
        log.warning("could not keep the working copy %s (%s); it will be built again", path, exc)
