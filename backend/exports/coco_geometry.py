"""The geometry convention at the app's boundaries: COCO's (pycocotools') pixel-edge outlines.

Inside the app a polygon's vertices are pixel centres and the stored ``mask_rle`` is the truth. COCO tools read
polygon coordinates as an outline of pixel EDGES: pixel (c, r) covers [c, c+1) × [r, r+1), so the square of
pixels 40..42 is the ring (40, 40) (43, 40) (43, 43) (40, 43). Exports trace the stored mask's boundary on pixel
corners (:func:`mask_to_coco_polygons`), check the outline with pycocotools' own raster and fall back to the
exact RLE where it does not reproduce the mask; imports rasterise with pycocotools
(:func:`coco_polygons_to_mask`). ``area`` and ``bbox`` are what pycocotools computes from the segmentation.
"""

import json
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

from backend.exports.stored_crops import cropped, stored_crop

MIN_IOU = 0.999  # below this, an object's polygons are replaced by its RLE in exports


def _runs(diff: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``rows, starts, ends, signs`` of the runs of equal non-zero values along the rows of ``diff``."""
    padded = np.zeros((diff.shape[0], diff.shape[1] + 2), dtype=diff.dtype)
    padded[:, 1:-1] = diff
    rows, cols = np.nonzero(padded[:, 1:] != padded[:, :-1])
    if rows.size < 2:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    first_rows, first_cols = rows[:-1], cols[:-1]
    inside = first_cols < diff.shape[1]
    signs = np.zeros(first_rows.size, dtype=np.int64)
    signs[inside] = diff[first_rows[inside], first_cols[inside]]
    keep = np.flatnonzero(signs)  # a run ends where the next change is (in the same row: the padding closes rows)
    return first_rows[keep], first_cols[keep], cols[keep + 1], signs[keep]


def _segments(padded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximal straight boundary pieces of an int8 0/1 grid as ``(n, 4)`` arrays of start x, start y, end x,
    end y, directed with the foreground on their right (y pointing down)."""
    rows, starts, ends, signs = _runs(padded[1:, :] - padded[:-1, :])  # fg below: +x; fg above: -x
    forward = signs > 0
    horizontal = np.stack(
        [np.where(forward, starts, ends), rows + 1, np.where(forward, ends, starts), rows + 1], axis=1
    )
    cols, starts, ends, signs = _runs((padded[:, 1:] - padded[:, :-1]).T)  # fg right: up; fg left: down
    up = signs > 0
    vertical = np.stack([cols + 1, np.where(up, ends, starts), cols + 1, np.where(up, starts, ends)], axis=1)
    return horizontal, vertical


def _links(pieces: np.ndarray, following: np.ndarray, stride: int) -> list[int]:
    """For each piece, the index of the piece in ``following`` that starts where it ends; where two pixels touch
    diagonally two do, and the right turn is taken so that the two stay apart (4-connected regions)."""
    keys = following[:, 0] * stride + following[:, 1]
    order = np.argsort(keys, kind="stable")
    wanted = pieces[:, 2] * stride + pieces[:, 3]
    left = np.searchsorted(keys[order], wanted, side="left")
    right = np.searchsorted(keys[order], wanted, side="right")
    links = order[np.minimum(left, len(order) - 1)].tolist()
    for i in np.flatnonzero(right - left > 1).tolist():
        dx, dy = pieces[i, 2] - pieces[i, 0], pieces[i, 3] - pieces[i, 1]
        for choice in order[left[i] : right[i]].tolist():
            ex, ey = following[choice, 2] - following[choice, 0], following[choice, 3] - following[choice, 1]
            if dx * ey - dy * ex > 0:
                links[i] = choice
    return links


def _trace(mask: np.ndarray) -> list[np.ndarray]:
    """Closed rings (``(n, 2)`` pixel corners) around each 4-connected region of the mask padded by one pixel:
    outer rings have a positive signed area, holes a negative one."""
    padded = np.zeros((mask.shape[0] + 2, mask.shape[1] + 2), dtype=np.int8)
    padded[1:-1, 1:-1] = mask
    horizontal, vertical = _segments(padded)
    if len(horizontal) == 0:
        return []
    stride = padded.shape[0] + 1
    to_vertical = _links(horizontal, vertical, stride)
    to_horizontal = _links(vertical, horizontal, stride)
    used = bytearray(len(horizontal))
    rings = []
    for first in range(len(horizontal)):
        if used[first]:
            continue
        ring, piece = [], first
        while True:
            used[piece] = 1
            ring.append(piece)
            piece = to_horizontal[to_vertical[piece]]
            if piece == first:
                break
        # Each horizontal piece gives its start and its end (where the vertical piece after it starts).
        rings.append(horizontal[ring].reshape(-1, 2))
    return rings


def _signed_area(ring: np.ndarray) -> float:
    xs, ys = ring[:, 0], ring[:, 1]
    return float((xs[:-1] * ys[1:] - xs[1:] * ys[:-1]).sum() + xs[-1] * ys[0] - xs[0] * ys[-1]) / 2


def _coco_rings(crop: np.ndarray, x0: int, y0: int) -> tuple[list[list[float]], int]:
    """Outer rings of the mask ``crop`` placed at (x0, y0) as flat COCO lists, and how many holes it has."""
    outers, holes = [], 0
    for ring in _trace(crop):
        if _signed_area(ring) < 0:
            holes += 1
            continue
        # The padding shifted everything by one pixel.
        outers.append((ring + np.array([x0 - 1, y0 - 1])).astype(float).ravel().tolist())
    return outers, holes


def mask_to_coco_polygons(mask: np.ndarray) -> list[list[float]]:
    """Pixel-edge outlines ``[x0, y0, x1, y1, ...]`` of the mask's 4-connected regions (holes not expressed)."""
    return _coco_rings(*cropped(np.asarray(mask, dtype=bool)))[0]


def _polygon_rle(polygons: list[list[float]], height: int, width: int) -> dict[str, Any]:
    return coco_mask.merge(coco_mask.frPyObjects(polygons, height, width))


def coco_polygons_to_mask(polygons: list[list[float]], height: int, width: int) -> np.ndarray:
    """pycocotools' own raster of COCO polygons (the union of the rings), a bool ``height × width`` mask."""
    if not polygons:
        return np.zeros((height, width), dtype=bool)
    return coco_mask.decode(_polygon_rle(polygons, height, width)).astype(bool)


def _compressed(segmentation: list[list[float]] | dict[str, Any], height: int, width: int) -> dict[str, Any]:
    if isinstance(segmentation, list):
        return _polygon_rle(segmentation, height, width)
    counts = segmentation["counts"]
    if isinstance(counts, list):
        return coco_mask.frPyObjects(segmentation, height, width)
    return {"size": [height, width], "counts": counts.encode("ascii") if isinstance(counts, str) else counts}


def coco_area_bbox(
    segmentation: list[list[float]] | dict[str, Any], height: int, width: int
) -> tuple[float, list[float]]:
    """``(area, [x, y, w, h])`` of a segmentation as pycocotools computes them (``annToRLE``, ``area``, ``toBbox``)."""
    rle = _compressed(segmentation, height, width)
    return float(coco_mask.area(rle)), [float(v) for v in coco_mask.toBbox(rle)]


def exported_segmentation(mask_rle: dict[str, Any]) -> tuple[list[list[float]] | dict[str, Any], float, list[float]]:
    """An object's COCO ``segmentation``, ``area`` and ``bbox`` from its stored mask.

    Polygons when pycocotools draws them back to the mask with IoU >= ``MIN_IOU`` and the mask has no holes;
    otherwise the stored RLE itself (exact).
    """
    height, width = (int(v) for v in mask_rle["size"])
    stored = _compressed(mask_rle, height, width)
    polygons, holes = _coco_rings(*stored_crop(mask_rle))
    segmentation: list[list[float]] | dict[str, Any] = {"size": [height, width], "counts": mask_rle["counts"]}
    if polygons and not holes:
        drawn = _polygon_rle(polygons, height, width)
        if float(coco_mask.iou([drawn], [stored], [0])[0][0]) >= MIN_IOU:
            segmentation = polygons
    area, bbox = coco_area_bbox(segmentation, height, width)
    return segmentation, area, bbox


def coco_text(mask_rle: dict[str, Any]) -> str:
    """``exported_segmentation`` as the JSON object text ``{"segmentation":…,"area":…,"bbox":[…]}`` that objects
    keep (``AnnotationObject.coco``): derived once per mask written, copied into every COCO export as it is."""
    segmentation, area, bbox = exported_segmentation(mask_rle)
    return json.dumps({"segmentation": segmentation, "area": area, "bbox": bbox}, separators=(",", ":"))
