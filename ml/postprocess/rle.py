"""Mask ↔ COCO run-length encoding (pycocotools), with ``counts`` as a str so it is JSON-serialisable."""

from __future__ import annotations

from typing import Any

import numpy as np
from pycocotools import mask as coco_mask


def mask_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """Compressed COCO RLE ``{"size": [h, w], "counts": str}``."""
    binary = np.asfortranarray(np.asarray(mask, dtype=bool), dtype=np.uint8)
    rle = coco_mask.encode(binary)
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def rle_to_mask(rle: dict[str, Any]) -> np.ndarray:
    """Boolean H×W mask from a compressed (str or bytes ``counts``) or uncompressed (list) COCO RLE."""
    height, width = (int(v) for v in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, list):
        encoded = coco_mask.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    else:
        encoded = {"size": [height, width], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    return coco_mask.decode(encoded).astype(bool)


def rle_area(rle: dict[str, Any]) -> int:
    """Foreground pixel count of an RLE without decoding it."""
    return int(coco_mask.area(_compressed(rle)))


def rle_bbox(rle: dict[str, Any]) -> list[int]:
    """COCO ``[x, y, width, height]`` of an RLE without decoding it."""
    return [int(round(v)) for v in coco_mask.toBbox(_compressed(rle))]


def _compressed(rle: dict[str, Any]) -> dict[str, Any]:
    counts = rle["counts"]
    if isinstance(counts, list):
        height, width = (int(v) for v in rle["size"])
        return coco_mask.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    return {"size": list(rle["size"]), "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def box_mask_to_rle(local: np.ndarray, left: int, top: int, height: int, width: int) -> dict[str, Any]:
    """The compressed COCO RLE of a ``height``×``width`` mask that is zero outside ``local`` placed at
    ``(left, top)`` — what :func:`mask_to_rle` gives for the whole mask, without ever making it (a gigapixel
    image's object costs its box, not the image)."""
    local = np.asarray(local, dtype=bool)
    rows, cols = local.shape
    if rows == 0 or cols == 0 or not local.any():
        return _encoded([height * width], height, width)
    if left < 0 or top < 0 or left + cols > width or top + rows > height:
        raise ValueError(f"a {cols}×{rows} box at ({left}, {top}) is outside a {width}×{height} mask")
    # column-major, one zero row after each column so that no run crosses from one column into the next
    padded = np.zeros((rows + 1, cols), np.int8)
    padded[:rows] = local
    flat = padded.T.ravel()
    change = np.flatnonzero(np.diff(np.concatenate([[0], flat, [0]])))
    starts, ends = change[0::2], change[1::2]  # runs of ones: [start, end) in the padded local order

    def to_global(index: np.ndarray) -> np.ndarray:
        col, row = np.divmod(index, rows + 1)
        return (left + col).astype(np.int64) * height + top + row

    bounds = np.empty(2 * len(starts), np.int64)
    bounds[0::2], bounds[1::2] = to_global(starts), to_global(ends)
    # a run ending at a column's last row and one starting at the next column's first are one run
    joined = np.flatnonzero(bounds[1:-1:2] == bounds[2::2])
    if joined.size:
        bounds = np.delete(bounds, np.concatenate([2 * joined + 1, 2 * joined + 2]))
    counts = np.diff(np.concatenate([[0], bounds, [height * width]])).tolist()
    if counts[-1] == 0:  # ones up to the last pixel: no closing run of zeros, as pycocotools writes it
        counts.pop()
    return _encoded(counts, height, width)


def _encoded(counts: list[int], height: int, width: int) -> dict[str, Any]:
    encoded = coco_mask.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    return {"size": [int(height), int(width)], "counts": encoded["counts"].decode("ascii")}
