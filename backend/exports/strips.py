"""Label maps of huge images (gigapixel photos), painted and compressed a strip of rows at a time.

A label map is one byte per pixel: 400 MB for a 20000×20000 image, and twice that while it is turned into PNG
rows. Above ``LARGE_MAP_PIXELS`` the map is never whole: each strip of ``STRIP_ROWS`` rows is painted from the
objects' column runs (later objects over earlier ones, as :func:`backend.exports.rings.painted_images` paints)
and fed to the same zlib stream, so the PNG data is byte for byte what the whole map would give, at the memory
of one strip.
"""

from collections.abc import Sequence

import numpy as np

from backend.exports.rings import ObjectRuns
from backend.exports.rows import ImageRow

LARGE_MAP_PIXELS = 64_000_000
STRIP_ROWS = 512


def is_large(image: ImageRow) -> bool:
    return image.pixels > LARGE_MAP_PIXELS


def strip_png_data(runs: ObjectRuns, values: Sequence[int], height: int, width: int) -> bytes:
    """The PNG pixel data (IDAT, as :func:`backend.exports.masks.png_data` writes it) of the uint8 map in which
    object ``i`` of ``runs`` has ``values[i]`` (0 where no object is)."""
    from backend.exports.masks import png_compressor

    lookup = np.asarray(list(values), dtype=np.uint8)
    compressor = png_compressor()
    parts = []
    for first in range(0, height, STRIP_ROWS):
        last = min(height, first + STRIP_ROWS)
        rows = np.zeros((last - first, width + 1), np.uint8)  # each row: filter type 0, then its pixels
        hit = np.flatnonzero((runs.tops < last) & (runs.bottoms > first) & (runs.owners < len(lookup)))
        for owner, column, top, bottom in zip(
            runs.owners[hit].tolist(),
            runs.columns[hit].tolist(),
            runs.tops[hit].tolist(),
            runs.bottoms[hit].tolist(),
            strict=True,
        ):
            rows[max(top, first) - first : min(bottom, last) - first, column + 1] = lookup[owner]
        parts.append(compressor.compress(rows.data))
    parts.append(compressor.flush())
    return b"".join(parts)
