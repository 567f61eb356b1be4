"""Reading images and object masks from disk in any common format."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".gif"})
TRIMAP_LEVELS = frozenset({0, 128, 255})
UNKNOWN_LEVEL = 128


def _decode(path: Path, flags: int) -> np.ndarray:
    data = np.fromfile(path, dtype=np.uint8)
    array = cv2.imdecode(data, flags)
    if array is None:
        raise ValueError(f"cannot decode image file {path}")
    return array


def read_rgb(path: str | Path) -> np.ndarray:
    """Any JPEG/PNG/BMP/... (greyscale, RGB, RGBA, 16-bit) as RGB uint8 H×W×3, EXIF orientation ignored."""
    bgr = _decode(Path(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def read_object_mask(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A single-object mask file as (object, ignore) boolean maps.

    Colour masks (Berkeley): object = first channel as OpenCV loads it > 128, as RITM reads them.
    Greyscale masks: any non-zero value is the object, except in a 0/128/255 trimap (GrabCut), whose 128
    band is the "unknown" boundary that is ignored.
    """
    raw = _decode(Path(path), cv2.IMREAD_UNCHANGED)
    if raw.dtype != np.uint8:
        raw = cv2.convertScaleAbs(raw, alpha=255.0 / max(float(raw.max()), 1.0))
    if raw.ndim == 3:
        return raw[:, :, 0] > 128, np.zeros(raw.shape[:2], dtype=bool)
    if _is_trimap(raw):
        return raw > UNKNOWN_LEVEL, raw == UNKNOWN_LEVEL
    return raw > 0, np.zeros(raw.shape, dtype=bool)


def _is_trimap(gray: np.ndarray) -> bool:
    levels = set(np.unique(gray).tolist())
    return levels <= TRIMAP_LEVELS and {UNKNOWN_LEVEL, 255} <= levels
