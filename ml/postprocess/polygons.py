"""Mask ↔ polygons with holes.

A polygon is ``{"outer": [[x, y], ...], "holes": [[[x, y], ...], ...]}``; vertices are integer pixel
indices (column ``x``, row ``y``). Outer rings are the top-level contours of ``findContours(RETR_CCOMP)``
and run through the centres of the object's border pixels; each child contour (a hole) is re-traced on
the hole's own border pixels, so both kinds of ring enclose the pixels of their region the same way.
An island inside a hole is a polygon of its own. Rings are simplified with
``approxPolyDP(epsilon=tolerance)`` (pixels); ``tolerance=0`` keeps every corner (exact round trip).

Rasterising (:func:`polygons_to_mask`) is the inverse: a ring covers its inside and its own vertices'
pixels (``fillPoly``), a polygon is its outer region minus its hole regions, and polygons are united,
i.e. the even-odd rule for properly nested rings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import cv2
import numpy as np

Ring = list[list[int]]


class Polygon(TypedDict):
    outer: Ring
    holes: list[Ring]


def _simplify(contour: np.ndarray, tolerance: float) -> Ring | None:
    """Simplified ring as a list of ``[x, y]``; ``None`` if fewer than 3 vertices remain possible."""
    points = contour
    if tolerance > 0:
        simplified = cv2.approxPolyDP(contour, float(tolerance), closed=True)
        points = simplified if len(simplified) >= 3 else contour
    if len(points) < 3:
        return None
    return points.reshape(-1, 2).astype(int).tolist()


def mask_to_polygons(mask: np.ndarray, tolerance: float = 1.0) -> list[Polygon]:
    """Polygons (outer ring + holes) of a binary mask; rings with fewer than 3 vertices are dropped.

    Specks and one-pixel-wide lines have degenerate rings and therefore no polygon; an empty mask gives ``[]``.
    """
    binary = np.ascontiguousarray(np.asarray(mask, dtype=bool), dtype=np.uint8)
    contours, hierarchy = cv2.findContours(binary, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return []
    links = hierarchy[0]
    polygons: list[Polygon] = []
    for index, (_, _, first_child, parent) in enumerate(links):
        if parent != -1:
            continue
        outer = _simplify(contours[index], tolerance)
        if outer is None:
            continue
        polygons.append({"outer": outer, "holes": _holes(contours, links, first_child, tolerance)})
    return polygons


def _holes(contours: Sequence[np.ndarray], links: np.ndarray, child: int, tolerance: float) -> list[Ring]:
    holes: list[Ring] = []
    while child != -1:
        for contour in _hole_borders(contours[child]):
            ring = _simplify(contour, tolerance)
            if ring is not None:
                holes.append(ring)
        child = int(links[child][0])
    return holes


def _hole_borders(contour: np.ndarray) -> Sequence[np.ndarray]:
    """Trace the hole's own border: the strict inside of a child contour (which runs on object pixels)."""
    x, y, width, height = cv2.boundingRect(contour)
    local = contour - np.array([x, y], dtype=contour.dtype)
    inside = np.zeros((height, width), np.uint8)
    cv2.drawContours(inside, [local], 0, 1, thickness=cv2.FILLED)
    cv2.drawContours(inside, [local], 0, 0, thickness=1)
    borders, _ = cv2.findContours(inside, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE, offset=(x, y))
    return borders


def _points(ring: Sequence[Sequence[float]]) -> np.ndarray:
    return np.round(np.asarray(ring, dtype=np.float64)).astype(np.int32).reshape(-1, 1, 2)


def _rings(polygon: Polygon) -> tuple[np.ndarray, list[np.ndarray]]:
    """Outer ring and holes as OpenCV point arrays (holes of fewer than 3 vertices are ignored)."""
    return _points(polygon["outer"]), [_points(ring) for ring in polygon.get("holes", []) if len(ring) >= 3]


def polygons_to_mask(polygons: Sequence[Polygon], height: int, width: int) -> np.ndarray:
    """Boolean H×W mask of ``polygons`` (see the module docstring for the convention).

    Each polygon is rasterised within the bounding box of all its rings (clipped to the image), so the cost is the
    polygons' box areas, not polygons × image pixels. Inside that box nothing but the image border clips a ring's
    edges, so the pixels are exactly those of rasterising on the whole image.
    """
    mask = np.zeros((height, width), dtype=np.uint8)
    for polygon in polygons:
        outer, holes = _rings(polygon)
        box = _clipped_box([outer, *holes], height, width)
        if box is None:
            continue
        x0, y0, x1, y1 = box
        view = mask[y0:y1, x0:x1]
        if holes:
            region = np.zeros_like(view)
            cv2.fillPoly(region, [outer], 1, offset=(-x0, -y0))
            cv2.fillPoly(region, holes, 0, offset=(-x0, -y0))
            view |= region
        else:
            cv2.fillPoly(view, [outer], 1, offset=(-x0, -y0))
    return mask.view(bool)  # only 0s and 1s were written


def polygons_to_box_mask(polygons: Sequence[Polygon], height: int, width: int) -> tuple[np.ndarray, int, int]:
    """``(local, left, top)``: the pixels :func:`polygons_to_mask` sets, within the box of all the polygons (clipped
    to the image) placed at ``(left, top)`` — without the image-sized mask (a gigapixel image's object)."""
    boxes = [b for b in (raster_box(p, height, width) for p in polygons) if b is not None]
    if not boxes:
        return np.zeros((0, 0), bool), 0, 0
    left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, bottom = max(b[2] for b in boxes), max(b[3] for b in boxes)
    local = np.zeros((bottom - top, right - left), dtype=np.uint8)
    for polygon in polygons:
        outer, holes = _rings(polygon)
        box = _clipped_box([outer, *holes], height, width)
        if box is None:
            continue
        x0, y0, x1, y1 = box
        view = local[y0 - top : y1 - top, x0 - left : x1 - left]
        region = np.zeros_like(view)
        cv2.fillPoly(region, [outer], 1, offset=(-x0, -y0))
        if holes:
            cv2.fillPoly(region, holes, 0, offset=(-x0, -y0))
        view |= region
    return local.view(bool), left, top


def raster_box(polygon: Polygon, height: int, width: int) -> tuple[int, int, int, int] | None:
    """``(x0, y0, x1, y1)`` (end exclusive) that :func:`polygons_to_mask` rasterises ``polygon`` in; ``None``: none."""
    outer, holes = _rings(polygon)
    return _clipped_box([outer, *holes], height, width)


def _clipped_box(rings: Sequence[np.ndarray], height: int, width: int) -> tuple[int, int, int, int] | None:
    points = np.concatenate(rings).reshape(-1, 2)
    x0, y0 = (max(int(v), 0) for v in points.min(axis=0))
    x1, y1 = (min(int(v) + 1, limit) for v, limit in zip(points.max(axis=0), (width, height), strict=True))
    return (x0, y0, x1, y1) if x0 < x1 and y0 < y1 else None
