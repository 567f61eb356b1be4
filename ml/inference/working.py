"""A bounded working resolution for huge images, and the mapping between it and the image.

An image of more than ``max_pixels`` pixels is segmented on a copy scaled down to at most that many (aspect
ratio kept), so every map a click session holds is bounded whatever the image's size. Clicks come in image
coordinates and the resulting shapes go back in image coordinates; the mask itself stays at the working size.

Coordinates are pixel indices (``x`` column, ``y`` row) mapped through pixel centres: working pixel ``u``
covers image pixels ``[u·f, (u+1)·f)`` with ``f = image size / working size`` per axis, so image position
``x`` is working position ``(x + 0.5) / f - 0.5`` and working ``u`` is image ``(u + 0.5)·f - 0.5``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ml.inference.clicks import Click
from ml.postprocess.polygons import Polygon, Ring


@dataclass(frozen=True)
class WorkingFrame:
    """An image of ``width``×``height`` and the ``work_width``×``work_height`` it is segmented at."""

    width: int
    height: int
    work_width: int
    work_height: int

    @classmethod
    def fit(cls, width: int, height: int, max_pixels: int) -> WorkingFrame:
        """The largest working size of at most ``max_pixels`` pixels with the image's aspect ratio (≥ 1×1)."""
        if width < 1 or height < 1 or max_pixels < 1:
            raise ValueError(f"cannot fit a {width}×{height} image into {max_pixels} pixels")
        if width * height <= max_pixels:
            return cls(width, height, width, height)
        scale = math.sqrt(max_pixels / (width * height))
        work_width, work_height = max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
        # Rounding, or a one-pixel-thin side of an extreme aspect ratio, may still exceed the budget.
        work_width = min(work_width, max_pixels // work_height)
        work_height = min(work_height, max_pixels // work_width)
        return cls(width, height, work_width, work_height)

    @property
    def scaled(self) -> bool:
        return (self.work_width, self.work_height) != (self.width, self.height)

    @property
    def work_shape(self) -> tuple[int, int]:
        """``(rows, columns)`` of the working copy."""
        return self.work_height, self.work_width

    def click_to_working(self, click: Click) -> Click:
        """The click's position on the working copy (kept inside it)."""
        if not self.scaled:
            return click
        x = _to_working(click.x, self.width, self.work_width)
        y = _to_working(click.y, self.height, self.work_height)
        return click.moved(x=x, y=y)

    def shape_to_image(self, shape: dict[str, Any]) -> dict[str, Any]:
        """``polygons``, ``bbox`` and ``area`` of a working-resolution shape in image pixels (other keys as given)."""
        if not self.scaled:
            return shape
        fx, fy = self.width / self.work_width, self.height / self.work_height
        x, y, w, h = shape["bbox"]
        left, top = math.floor(x * fx), math.floor(y * fy)
        right = min(self.width, math.ceil((x + w) * fx)) if w else left
        bottom = min(self.height, math.ceil((y + h) * fy)) if h else top
        return {
            **shape,
            "polygons": [self._polygon_to_image(polygon) for polygon in shape["polygons"]],
            "bbox": [left, top, right - left, bottom - top],
            "area": round(shape["area"] * fx * fy),
        }

    def _polygon_to_image(self, polygon: Polygon) -> Polygon:
        return {
            "outer": self._ring_to_image(polygon["outer"]),
            "holes": [self._ring_to_image(r) for r in polygon["holes"]],
        }

    def _ring_to_image(self, ring: Ring) -> Ring:
        # Scaling up keeps distinct integer vertices distinct, so a ring stays a ring.
        return [
            [_to_image(x, self.work_width, self.width), _to_image(y, self.work_height, self.height)] for x, y in ring
        ]


def _to_working(position: float, size: int, work_size: int) -> float:
    return min(max((position + 0.5) * work_size / size - 0.5, 0.0), work_size - 1.0)


def _to_image(position: int, work_size: int, size: int) -> int:
    return min(max(round((position + 0.5) * size / work_size - 0.5), 0), size - 1)
