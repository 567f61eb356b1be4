"""Validating polygons (with holes) and deriving the COCO RLE mask, bbox and area from them (via ml.postprocess);
or, for an exact mask (an import), keeping the mask and deriving editable polygons from it."""

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from django.conf import settings

from backend.common.errors import InvalidInput
from ml.postprocess import mask_area, mask_bbox, mask_to_polygons, mask_to_rle, polygons_to_mask, raster_box
from ml.postprocess.polygons import polygons_to_box_mask
from ml.postprocess.rle import box_mask_to_rle


@dataclass(frozen=True)
class Shape:
    polygons: list[dict]
    mask_rle: dict
    bbox: list[float]
    area: int


def _check_ring(ring: Any, width: int, height: int, where: str) -> list[list[float]]:
    if not isinstance(ring, list) or len(ring) < 3:
        raise InvalidInput(f"{where} needs at least 3 points.", code="bad_polygon")
    points = []
    for point in ring:
        if not (isinstance(point, (list, tuple)) and len(point) == 2):
            raise InvalidInput(f"{where}: each point must be [x, y].", code="bad_polygon")
        x, y = point
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (x, y)):
            raise InvalidInput(f"{where}: coordinates must be finite numbers.", code="bad_polygon")
        if not (0 <= x <= width and 0 <= y <= height):
            raise InvalidInput(
                f"{where}: point ({x}, {y}) lies outside the {width}×{height} image.", code="polygon_outside_image"
            )
        points.append([float(x), float(y)])
    return points


def _shoelace_area(ring: list[list[float]]) -> float:
    return abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True))) / 2


def check_counts(polygons: int, vertices: int) -> None:
    """Refuse more polygons or vertices (all rings, holes included) than one object may have."""
    if polygons > settings.MAX_POLYGONS_PER_OBJECT:
        limit = settings.MAX_POLYGONS_PER_OBJECT
        raise InvalidInput(
            f"An object has at most {limit} polygons; this one has {polygons}.",
            code="too_many_polygons",
            details={"limit": limit, "polygons": polygons},
        )
    if vertices > settings.MAX_VERTICES_PER_OBJECT:
        limit = settings.MAX_VERTICES_PER_OBJECT
        raise InvalidInput(
            f"An object has at most {limit} vertices (all rings, holes included); this one has {vertices}.",
            code="too_many_vertices",
            details={"limit": limit, "vertices": vertices},
        )


def _count(polygons: list) -> tuple[int, int]:
    """Polygons and vertices, counted from list lengths alone (malformed parts count 0; checked later)."""
    vertices = 0
    for polygon in polygons:
        if not isinstance(polygon, dict):
            continue
        holes = polygon.get("holes")
        for ring in [polygon.get("outer"), *(holes if isinstance(holes, list) else [])]:
            vertices += len(ring) if isinstance(ring, list) else 0
    return len(polygons), vertices


def _check_coverage(polygons: list[dict], width: int, height: int) -> None:
    """Rasterising costs each polygon's bounding box: refuse boxes that cover the image too many times over."""
    boxes = [raster_box(polygon, height, width) for polygon in polygons]
    covered = sum((x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in filter(None, boxes))
    limit = settings.MAX_POLYGON_BOX_COVERAGE
    if covered > limit * width * height:
        raise InvalidInput(
            f"The polygons' bounding boxes together cover the image {covered / (width * height):.1f} times; "
            f"at most {limit} times.",
            code="too_much_coverage",
            details={"limit": limit},
        )


def check_polygons(polygons: Any, width: int, height: int) -> list[dict]:
    if not isinstance(polygons, list) or not polygons:
        raise InvalidInput("polygons must be a non-empty list of {outer, holes}.", code="bad_polygon")
    check_counts(*_count(polygons))
    checked = []
    for i, polygon in enumerate(polygons):
        if not isinstance(polygon, dict) or "outer" not in polygon:
            raise InvalidInput(
                f"polygon {i} must be an object with 'outer' (and optional 'holes').", code="bad_polygon"
            )
        holes = polygon.get("holes") or []
        if not isinstance(holes, list):
            raise InvalidInput(f"polygon {i}: 'holes' must be a list of rings.", code="bad_polygon")
        outer = _check_ring(polygon["outer"], width, height, f"polygon {i}")
        if _shoelace_area(outer) == 0:
            raise InvalidInput(f"polygon {i} is degenerate (its points lie on one line).", code="empty_polygon")
        checked.append(
            {
                "outer": outer,
                "holes": [_check_ring(h, width, height, f"polygon {i} hole {j}") for j, h in enumerate(holes)],
            }
        )
    _check_coverage(checked, width, height)
    return checked


def shape_from_polygons(polygons: Any, width: int, height: int) -> Shape:
    """Vertices are pixel indices (ml.postprocess convention): a ring covers its inside and its own pixels."""
    checked = check_polygons(polygons, width, height)
    if width * height > LOCAL_RASTER_MIN_PIXELS:
        return _shape_in_box(checked, width, height)
    mask = polygons_to_mask(checked, height, width)
    area = mask_area(mask)
    if area == 0:
        raise InvalidInput("The polygons enclose no pixels.", code="empty_polygon")
    return Shape(polygons=checked, mask_rle=mask_to_rle(mask), bbox=[float(v) for v in mask_bbox(mask)], area=area)


LOCAL_RASTER_MIN_PIXELS = 4096 * 4096  # above it (tiled images), the mask is made within the polygons' box only


def _shape_in_box(checked: list[dict], width: int, height: int) -> Shape:
    """:func:`shape_from_polygons` of a gigapixel image: the same RLE, bbox and area, at the cost of the box."""
    local, left, top = polygons_to_box_mask(checked, height, width)
    area = mask_area(local)
    if area == 0:
        raise InvalidInput("The polygons enclose no pixels.", code="empty_polygon")
    x, y, w, h = mask_bbox(local)
    return Shape(
        polygons=checked,
        mask_rle=box_mask_to_rle(local, left, top, height, width),
        bbox=[float(x + left), float(y + top), float(w), float(h)],
        area=area,
    )


SPECK = 0.4  # offset, within the pixel, of the extra vertices that give a speck's or a line's ring an area


def _with_area(ring: list[list[float]]) -> list[list[float]]:
    """A ring of a speck or a one-pixel-wide line, made non-degenerate by vertices that round to its last pixel:
    it still rasterises (``fillPoly`` draws a ring's own pixels) to the same pixels."""
    x, y = ring[-1]
    ring = [*ring, [x + SPECK, y], [x, y + SPECK]]
    return ring if _shoelace_area(ring) > 0 else [[x, y], [x + SPECK, y], [x, y + SPECK]]


def _uncovered_rings(mask: np.ndarray, polygons: list[dict]) -> list[dict]:
    """Minimal polygons for the mask's 8-connected parts no polygon reaches (specks, one-pixel-wide lines)."""
    drawn = polygons_to_mask(polygons, *mask.shape) if polygons else np.zeros_like(mask)
    count, parts = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    found = []
    for part in range(1, count):
        region = parts == part
        if (drawn & region).any():
            continue
        contours, _ = cv2.findContours(region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        ring = [[float(x), float(y)] for x, y in contours[0].reshape(-1, 2).tolist()]
        found.append({"outer": _with_area(ring), "holes": []})
    return found


def editable_polygons(mask: np.ndarray) -> list[dict]:
    """Polygons (pixel-centre convention) to edit an imported mask with; every part of the mask has one.

    Simplified further while they exceed the per-object vertex cap; the stored mask stays exact either way.
    """
    for tolerance in (1.0, 2.0, 4.0, 8.0, 16.0):
        polygons = [
            {
                **polygon,
                "outer": polygon["outer"] if _shoelace_area(polygon["outer"]) > 0 else _with_area(polygon["outer"]),
            }
            for polygon in mask_to_polygons(mask, tolerance)
        ]
        polygons += _uncovered_rings(mask, polygons)
        polygons = [
            {
                "outer": [[float(x), float(y)] for x, y in p["outer"]],
                "holes": [[[float(x), float(y)] for x, y in h] for h in p["holes"]],
            }
            for p in polygons
        ]
        vertices = sum(len(p["outer"]) + sum(len(h) for h in p["holes"]) for p in polygons)
        if len(polygons) <= settings.MAX_POLYGONS_PER_OBJECT and vertices <= settings.MAX_VERTICES_PER_OBJECT:
            return polygons
    check_counts(*_count(polygons))  # raises: too many parts or vertices even simplified
    return polygons


def shape_from_mask(mask: Any) -> Shape:
    """The shape of an exact mask (bool H×W in the image's pixels): the mask is stored as it is."""
    mask = np.asarray(mask, dtype=bool)
    area = mask_area(mask)
    if area == 0:
        raise InvalidInput("The mask is empty.", code="empty_mask")
    return Shape(
        polygons=editable_polygons(mask),
        mask_rle=mask_to_rle(mask),
        bbox=[float(v) for v in mask_bbox(mask)],
        area=area,
    )
