"""Clicks and their disk encoding into the network's 3-channel ``coord_features``.

A click is given in *pixel-index* coordinates: ``x`` is the column and ``y`` the row of the
clicked pixel (integer values are pixel centres, fractions are allowed), the convention of
RITM and EISeg. The encoding follows RITM/EISeg ``DistMaps`` with ``use_disks=True``: a pixel
(r, c) belongs to a click's disk when ``(r - y)² + (c - x)² <= radius²``, computed in float32
like the reference; positive and negative clicks go to separate channels (union of disks).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

DISK_RADIUS = 5.0


@dataclass(frozen=True)
class Click:
    """One user click: ``x`` column, ``y`` row (pixel indices), ``positive`` foreground or not."""

    x: float
    y: float
    positive: bool

    def moved(self, x: float, y: float) -> Click:
        """The same click at other coordinates (e.g. in the network frame)."""
        return replace(self, x=x, y=y)

    def as_list(self) -> list[float | int]:
        """``[x, y, positive]`` with plain Python numbers (JSON-friendly)."""
        return [_plain(self.x), _plain(self.y), int(self.positive)]

    @classmethod
    def from_list(cls, row: Sequence[float]) -> Click:
        """Inverse of :meth:`as_list`."""
        x, y, positive = row
        return cls(_plain(x), _plain(y), bool(positive))


def _plain(value: float) -> float | int:
    value = float(value)
    return int(value) if value.is_integer() else value


def check_inside(click: Click, height: int, width: int) -> None:
    """Raise ``ValueError`` unless ``0 <= x < width`` and ``0 <= y < height``."""
    x, y = float(click.x), float(click.y)
    if not (math.isfinite(x) and math.isfinite(y) and 0 <= x < width and 0 <= y < height):
        raise ValueError(
            f"click (x={click.x}, y={click.y}) is outside the image: x must be in [0, {width}) and y in [0, {height})"
        )


def disk_map(clicks: Sequence[Click], height: int, width: int, radius: float = DISK_RADIUS) -> np.ndarray:
    """Union of the disks of ``clicks`` as a float32 H×W map of 0/1."""
    out = np.zeros((height, width), dtype=np.float32)
    limit = np.float32(radius * radius)
    for click in clicks:
        _stamp_disk(out, np.float32(click.y), np.float32(click.x), radius, limit)
    return out


def _stamp_disk(out: np.ndarray, rc: np.float32, cc: np.float32, radius: float, limit: np.float32) -> None:
    """Set the disk pixels of one click; only a window around it is evaluated (same float32 maths)."""
    height, width = out.shape
    r0, r1 = max(0, math.floor(rc - radius) - 1), min(height, math.ceil(rc + radius) + 2)
    c0, c1 = max(0, math.floor(cc - radius) - 1), min(width, math.ceil(cc + radius) + 2)
    if r0 >= r1 or c0 >= c1:
        return
    dr = np.arange(r0, r1, dtype=np.float32) - rc
    dc = np.arange(c0, c1, dtype=np.float32) - cc
    dist = (dr * dr)[:, None] + (dc * dc)[None, :]
    window = out[r0:r1, c0:c1]
    window[dist <= limit] = 1.0


def click_maps(clicks: Sequence[Click], height: int, width: int, radius: float = DISK_RADIUS) -> np.ndarray:
    """2×H×W float32: channel 0 positive disks, channel 1 negative disks."""
    positive = [c for c in clicks if c.positive]
    negative = [c for c in clicks if not c.positive]
    return np.stack([disk_map(positive, height, width, radius), disk_map(negative, height, width, radius)])


def coord_features(prev: np.ndarray, clicks: Sequence[Click], radius: float = DISK_RADIUS) -> np.ndarray:
    """3×H×W float32 ``[prev mask or prev edge, positive disks, negative disks]`` for an H×W ``prev``."""
    height, width = prev.shape
    maps = click_maps(clicks, height, width, radius)
    return np.concatenate([prev.astype(np.float32, copy=False)[None], maps], axis=0)
