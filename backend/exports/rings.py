"""An object's stored mask as pixel-edge rings (the convention of ``coco_geometry``) for LabelMe and YOLO.

:func:`object_rings` gives every outline of the mask, holes included, in painting order: painting each ring's
filled inside in turn — outer rings with 1, hole rings with 0 — gives back the mask exactly, because a ring is
painted after every ring that encloses it (rings come largest first). The holes are the outlines of the pixels
inside the outer rings but outside the mask; an island inside a hole is an outer ring of its own.
"""

from dataclasses import dataclass

import numpy as np

from backend.exports.coco_geometry import coco_polygons_to_mask, mask_to_coco_polygons, rle_runs


@dataclass(frozen=True)
class Ring:
    points: list[float]  # flat [x0, y0, x1, y1, ...] in image pixels, pixel-edge outline
    hole: bool


def ring_area(points: list[float]) -> float:
    xs, ys = np.asarray(points[0::2], float), np.asarray(points[1::2], float)
    return abs(float((xs * np.roll(ys, -1) - np.roll(xs, -1) * ys).sum())) / 2


def cropped(mask: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The mask within its bounding box, and the box's left and top."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return mask[:0, :0], 0, 0
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], int(cols[0]), int(rows[0])


def stored_crop(mask_rle: dict) -> tuple[np.ndarray, int, int]:
    """The stored mask within its bounding box, and the box's left and top, decoding only the box's columns (an
    object is small next to its image; exports decode every object)."""
    height = int(mask_rle["size"][0])
    counts = mask_rle["counts"]
    runs = np.asarray(counts, dtype=np.int64) if isinstance(counts, list) else rle_runs(counts)
    if runs is None or runs.size < 2:
        return np.zeros((0, 0), dtype=bool), 0, 0
    ends = np.cumsum(runs)
    starts, ends = (ends - runs)[1::2], ends[1::2]  # foreground runs, in column-major order
    starts, ends = starts[ends > starts], ends[ends > starts]
    if starts.size == 0:
        return np.zeros((0, 0), dtype=bool), 0, 0
    x0, x1 = int(starts[0] // height), int((ends[-1] - 1) // height) + 1
    length = (x1 - x0) * height + 1
    edges = np.bincount(starts - x0 * height, minlength=length) - np.bincount(ends - x0 * height, minlength=length)
    columns = (np.cumsum(edges[:-1]) > 0).reshape(x1 - x0, height).T
    crop, _, y0 = cropped(columns)
    return crop, x0, y0


def _shifted(ring: list[float], x0: int, y0: int) -> list[float]:
    shifted = np.asarray(ring, float).reshape(-1, 2) + np.array([x0, y0], float)
    return shifted.ravel().tolist()


def mask_rings(mask: np.ndarray) -> list[Ring]:
    """Outer and hole rings of a bool mask, largest first (see the module's docstring)."""
    crop, x0, y0 = cropped(np.asarray(mask, dtype=bool))
    if crop.size == 0:
        return []
    outers = mask_to_coco_polygons(crop)
    filled = coco_polygons_to_mask(outers, *crop.shape)
    holes = mask_to_coco_polygons(filled & ~crop) if (filled & ~crop).any() else []
    rings = [Ring(_shifted(r, x0, y0), False) for r in outers] + [Ring(_shifted(r, x0, y0), True) for r in holes]
    return sorted(rings, key=lambda ring: -ring_area(ring.points))


def object_rings(mask_rle: dict) -> list[Ring]:
    crop, x0, y0 = stored_crop(mask_rle)
    return [Ring(_shifted(ring.points, x0, y0), ring.hole) for ring in mask_rings(crop)]


def outer_rings(mask_rle: dict) -> list[list[float]]:
    """Only the outer rings (formats without holes): image-pixel flat lists, largest first."""
    crop, x0, y0 = stored_crop(mask_rle)
    if crop.size == 0:
        return []
    rings = [_shifted(ring, x0, y0) for ring in mask_to_coco_polygons(crop)]
    return sorted(rings, key=lambda ring: -ring_area(ring))


def paint_rings(rings: list[Ring], height: int, width: int) -> np.ndarray:
    """The mask drawn back from rings in their order: outer rings add their inside, holes remove theirs."""
    mask = np.zeros((height, width), dtype=bool)
    for ring in rings:
        inside = coco_polygons_to_mask([ring.points], height, width)
        mask[inside] = not ring.hole
    return mask
