"""Reading images and object masks from disk in any common format.

Mask files come in two kinds:

* single-object masks (GrabCut, Berkeley, ECSSD and any greyscale or colour file): the file is one object;
* palette PNGs (Pillow mode ``P``: DAVIS, Pascal VOC ``SegmentationObject``/``SegmentationClass``): the
  palette *indices* are labels, 0 background, 1..254 objects (instances, or classes in VOC's
  ``SegmentationClass``) and 255 void. The colours the palette gives the indices are never looked at: they
  are arbitrary (VOC's index 1 is dark red, which a colour or grey reading takes for background).

Void pixels, like GrabCut's 128 "unknown" band, are returned as the ``ignore`` map: neither scored nor clicked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".gif"})
TRIMAP_LEVELS = frozenset({0, 128, 255})
UNKNOWN_LEVEL = 128
VOID_INDEX = 255
PALETTE_MODES = frozenset({"P", "PA"})


@dataclass(frozen=True)
class MaskObjects:
    """The objects of one mask file: ``masks`` K×H×W bool, ``ignore`` H×W bool.

    ``ids`` holds the palette index of each mask for a palette PNG (K may be 0 for a frame without objects)
    and is ``None`` for a single-object file (K = 1).
    """

    masks: np.ndarray
    ignore: np.ndarray
    ids: tuple[int, ...] | None


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


def read_palette_indices(path: str | Path) -> np.ndarray | None:
    """The H×W uint8 index map of a palette PNG, ``None`` for any other file.

    OpenCV expands a palette PNG to the palette's colours, so the indices are read with Pillow. Only PNGs
    count: a palette GIF or BMP is an image whose index order says nothing (black may be index 1).
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        return None
    with Image.open(path) as image:
        if image.mode not in PALETTE_MODES:
            return None
        indices = np.asarray(image.getchannel(0) if image.mode == "PA" else image)
    return np.ascontiguousarray(indices, dtype=np.uint8)


def palette_object_ids(path: str | Path) -> tuple[int, ...] | None:
    """The object indices (1..254) present in a palette PNG, in order; ``None`` for a single-object file
    (whose pixels are not decoded)."""
    indices = read_palette_indices(path)
    return None if indices is None else _object_ids(indices)


def _object_ids(indices: np.ndarray) -> tuple[int, ...]:
    counts = np.bincount(indices.ravel(), minlength=256)
    return tuple(int(i) for i in np.flatnonzero(counts) if 0 < i < VOID_INDEX)


def read_mask_objects(path: str | Path) -> MaskObjects:
    """Every object of a mask file: one per index present in a palette PNG, else the file's one object."""
    indices = read_palette_indices(path)
    if indices is None:
        mask, ignore = _single_object(path)
        return MaskObjects(masks=mask[None], ignore=ignore, ids=None)
    ids = _object_ids(indices)
    masks = indices[None] == np.asarray(ids, dtype=np.uint8).reshape(-1, 1, 1)
    return MaskObjects(masks=masks, ignore=indices == VOID_INDEX, ids=ids)


def read_object_mask(path: str | Path, object_id: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One object of a mask file as (object, ignore) boolean maps.

    Palette PNGs: the object is palette index ``object_id`` (default: every index but 0 and 255, i.e. all
    objects as one) and index 255 is ignored. Colour masks (Berkeley): object = first channel as OpenCV
    loads it > 128, as RITM reads them. Greyscale masks: any non-zero value is the object, except in a
    0/128/255 trimap (GrabCut), whose 128 band is the "unknown" boundary that is ignored.
    """
    indices = read_palette_indices(path)
    if indices is not None:
        mask = (indices > 0) & (indices != VOID_INDEX) if object_id is None else indices == object_id
        return mask, indices == VOID_INDEX
    if object_id is not None:
        raise ValueError(f"{path} is not a palette PNG: it has no object {object_id}")
    return _single_object(path)


def _single_object(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
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
