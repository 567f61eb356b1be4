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


def polygons_to_mask(polygons: Sequence[Polygon], height: int, width: int) -> np.ndarray:
    """Boolean H×W mask of ``polygons`` (see the module docstring for the convention)."""
    mask = np.zeros((height, width), dtype=np.uint8)
    for polygon in polygons:
        region = np.zeros_like(mask)
        cv2.fillPoly(region, [_points(polygon["outer"])], 1)
        holes = [_points(ring) for ring in polygon.get("holes", []) if len(ring) >= 3]
        if holes:
            cv2.fillPoly(region, holes, 0)
        mask |= region
    return mask.astype(bool)
