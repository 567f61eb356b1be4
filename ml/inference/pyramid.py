"""Reading a tile pyramid: any region of any level, decoding only the tiles it covers.

The pyramid is a Deep Zoom layout (what libvips ``dzsave`` writes with ``layout="dz"``, ``overlap=0``):
``root/image.dzi`` (XML: tile size, full width and height) and ``root/image_files/{level}/{col}_{row}.jpg``.
Level ``max_level = ceil(log2(max(width, height)))`` is the full resolution, each level below it halves the
sides (rounding up), level 0 is 1×1. Tiles are ``tile_size`` square, the last column and row smaller.

Pure NumPy/Pillow: the inference workers read the pyramid the web process wrote, never the original file, so a
click on a gigapixel image decodes a few tiles, not the image.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

DZI_NAME = "image.dzi"
TILES_DIR = "image_files"
TILE_SUFFIX = "jpg"
_SIZE = re.compile(r'\b(TileSize|Overlap|Width|Height)="(\d+)"')


def is_pyramid(path: str | Path) -> bool:
    return (Path(path) / DZI_NAME).is_file()


@dataclass(frozen=True)
class Pyramid:
    root: Path
    width: int
    height: int
    tile_size: int

    @classmethod
    def open(cls, root: str | Path) -> Pyramid:
        """The pyramid at ``root``; raises OSError when it is missing or its description is not one we wrote."""
        root = Path(root)
        text = (root / DZI_NAME).read_text(encoding="utf-8")
        values = {name: int(value) for name, value in _SIZE.findall(text)}
        if values.get("Overlap", 0) != 0 or not all(values.get(k, 0) > 0 for k in ("TileSize", "Width", "Height")):
            raise OSError(f"{root / DZI_NAME}: not a pyramid of overlap 0 with a size and a tile size")
        return cls(root, values["Width"], values["Height"], values["TileSize"])

    @property
    def max_level(self) -> int:
        return max(0, math.ceil(math.log2(max(self.width, self.height))))

    @property
    def levels(self) -> int:
        return self.max_level + 1

    def level_size(self, level: int) -> tuple[int, int]:
        """``(width, height)`` of ``level``."""
        if not 0 <= level <= self.max_level:
            raise ValueError(f"level {level} is not in 0..{self.max_level}")
        factor = 2 ** (self.max_level - level)
        return -(-self.width // factor), -(-self.height // factor)

    def tile_path(self, level: int, col: int, row: int) -> Path:
        return self.root / TILES_DIR / str(level) / f"{col}_{row}.{TILE_SUFFIX}"

    def level_fitting(self, max_pixels: int) -> int:
        """The finest level of at most ``max_pixels`` pixels (level 0 at worst)."""
        for level in range(self.max_level, -1, -1):
            width, height = self.level_size(level)
            if width * height <= max_pixels:
                return level
        return 0

    def level_covering(self, width: int, height: int) -> int:
        """The coarsest level at least ``width``×``height`` (the full resolution at most)."""
        for level in range(self.max_level + 1):
            level_width, level_height = self.level_size(level)
            if level_width >= width and level_height >= height:
                return level
        return self.max_level

    def read(self, level: int, left: int, top: int, width: int, height: int) -> np.ndarray:
        """RGB uint8 ``height``×``width`` of ``level`` from ``(left, top)``, stitched from the tiles it covers.

        Raises ValueError for a region outside the level, OSError for a missing or unreadable tile.
        """
        level_width, level_height = self.level_size(level)
        if width < 1 or height < 1 or left < 0 or top < 0 or left + width > level_width or top + height > level_height:
            raise ValueError(
                f"region {left},{top} {width}×{height} is outside level {level} ({level_width}×{level_height})"
            )
        size = self.tile_size
        out = np.empty((height, width, 3), np.uint8)
        for row in range(top // size, (top + height - 1) // size + 1):
            for col in range(left // size, (left + width - 1) // size + 1):
                tile = self._tile(level, col, row)
                x0, y0 = col * size, row * size
                cx0, cy0 = max(left, x0), max(top, y0)
                cx1, cy1 = min(left + width, x0 + tile.shape[1]), min(top + height, y0 + tile.shape[0])
                if cx1 <= cx0 or cy1 <= cy0:
                    raise OSError(f"tile {level}/{col}_{row} of {self.root} is smaller than the level says")
                out[cy0 - top : cy1 - top, cx0 - left : cx1 - left] = tile[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
        return out

    def read_level(self, level: int) -> np.ndarray:
        return self.read(level, 0, 0, *self.level_size(level))

    def read_scaled(self, width: int, height: int) -> np.ndarray:
        """The whole image as RGB uint8 ``height``×``width``, from the coarsest level at least that large."""
        level = self.level_covering(width, height)
        pixels = self.read_level(level)
        if pixels.shape[:2] == (height, width):
            return pixels
        return np.asarray(PILImage.fromarray(pixels).resize((width, height), PILImage.Resampling.BILINEAR))

    def read_region(self, box: tuple[float, float, float, float], width: int, height: int) -> np.ndarray:
        """Full-resolution region ``box`` = ``(left, top, right, bottom)`` (exclusive ends, pixels) as RGB uint8
        ``height``×``width``, read from the coarsest level that still has at least that many pixels over the box."""
        left, top, right, bottom = box
        if not (0 <= left < right <= self.width and 0 <= top < bottom <= self.height):
            raise ValueError(f"box {box} is outside the {self.width}×{self.height} image")
        level = self.max_level
        for candidate in range(self.max_level + 1):
            factor = 2 ** (self.max_level - candidate)
            if (right - left) / factor >= width and (bottom - top) / factor >= height:
                level = candidate
                break
        factor = 2 ** (self.max_level - level)
        level_width, level_height = self.level_size(level)
        l0, t0 = int(math.floor(left / factor)), int(math.floor(top / factor))
        r0, b0 = min(level_width, int(math.ceil(right / factor))), min(level_height, int(math.ceil(bottom / factor)))
        pixels = self.read(level, l0, t0, max(1, r0 - l0), max(1, b0 - t0))
        # the exact box within the read pixels, in level pixels, then resampled to the wanted size
        sub = (left / factor - l0, top / factor - t0, right / factor - l0, bottom / factor - t0)
        return np.asarray(PILImage.fromarray(pixels).resize((width, height), PILImage.Resampling.BILINEAR, box=sub))

    def read_view(self, box: tuple[int, int, int, int], height: int, width: int) -> np.ndarray:
        """RGB uint8 ``height``×``width`` of the inclusive pixel box ``(rmin, rmax, cmin, cmax)`` sampled corner to
        corner (``align_corners``, what the zoom-in's ``View.crop`` does on a full image): output pixel ``i`` lies
        on image pixel ``rmin + i·(rmax - rmin)/(height - 1)``."""
        rmin, rmax, cmin, cmax = box
        row_step = (rmax - rmin) / (height - 1) if height > 1 else 1.0
        col_step = (cmax - cmin) / (width - 1) if width > 1 else 1.0
        top, left = rmin + 0.5 - 0.5 * row_step, cmin + 0.5 - 0.5 * col_step  # pixel edges, centres at +0.5
        bottom, right = top + height * row_step, left + width * col_step
        clipped = (max(0.0, left), max(0.0, top), min(float(self.width), right), min(float(self.height), bottom))
        return self.read_region(clipped, width, height)

    def _tile(self, level: int, col: int, row: int) -> np.ndarray:
        path = self.tile_path(level, col, row)
        with PILImage.open(path) as tile:
            tile.draft("RGB", tile.size)
            return np.asarray(tile.convert("RGB"))
