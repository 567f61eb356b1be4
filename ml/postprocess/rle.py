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
