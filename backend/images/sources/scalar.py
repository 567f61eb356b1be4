"""16-bit and floating-point TIFF and PNG files (microscopy, scientific cameras, exported medical slices).

8-bit files are not sources: the photo path (Pillow) takes them as they are. A TIFF of several same-sized pages
(or a 3-D series) is a stack, one slice per page.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from backend.common.errors import InvalidInput
from backend.images.display import DEFAULT_DISPLAY, default_bands
from backend.images.sources import SourceInfo, chosen_bands
from backend.images.sources.limits import check_pixels

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


@dataclass
class ArraySource:
    """A source whose slices are an in-file array read on demand."""

    info: SourceInfo
    path: Path
    reader: str  # "tiff" or "png"
    planar: bool = False  # a TIFF storing each band as its own plane (axes "SYX")

    def read_slice(self, index: int, bands: list[int] | None = None) -> np.ndarray:
        if self.reader == "png":
            return chosen_bands(_read_png(self.path), bands)
        import tifffile

        with tifffile.TiffFile(self.path) as tif:
            data = tif.series[0].asarray(key=index) if self.info.slices > 1 else tif.series[0].asarray()
        data = np.asarray(data)
        if self.planar:
            data = np.moveaxis(data, -3, -1)
        return chosen_bands(_as_slice(data, self.info.bands), bands)


def open_scalar(path: Path, name: str) -> ArraySource | None:
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(PNG_SIGNATURE):
        return _open_png(path, name)
    if head[:4] in TIFF_SIGNATURES:
        return _open_tiff(path, name)
    return None


def _open_png(path: Path, name: str) -> ArraySource | None:
    with path.open("rb") as handle:
        header = handle.read(33)
    if len(header) < 33 or header[12:16] != b"IHDR":
        return None  # not a PNG the photo path cannot refuse on its own
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    bit_depth, colour_type = header[24], header[25]
    if bit_depth != 16:
        return None
    bands = {0: 1, 2: 3, 4: 1, 6: 3}.get(colour_type)  # grey, RGB, grey+alpha, RGBA (alpha is not shown)
    if bands is None:
        return None
    check_pixels(name, width, height, 1)
    info = SourceInfo(
        kind="scalar",
        format="PNG",
        width=width,
        height=height,
        bands=bands,
        sample_type="uint16",
        display={**DEFAULT_DISPLAY, "bands": default_bands(bands), "invert": False},
    )
    return ArraySource(info, path, "png")


def _read_png(path: Path) -> np.ndarray:
    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if data is None:
        raise InvalidInput(f"{path.name}: the PNG data is truncated or corrupt.", code="corrupt_image")
    if data.ndim == 3:
        data = cv2.cvtColor(data[:, :, :3], cv2.COLOR_BGR2RGB)
    return data


def _open_tiff(path: Path, name: str) -> ArraySource | None:
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            if tif.is_geotiff:
                return None  # the GeoTIFF reader's
            series = tif.series[0]
            shape, dtype, axes = series.shape, series.dtype, series.axes
    except Exception as exc:  # noqa: BLE001 - any header parse failure is bad input
        raise InvalidInput(f"{name}: unreadable TIFF ({exc}).", code="not_an_image") from exc
    height, width, bands, slices = _layout(name, shape, axes)
    if dtype == np.uint8 and slices == 1:
        return None  # an ordinary 8-bit TIFF: the photo path's
    if dtype.kind not in "uif" or dtype.itemsize > 8:
        raise InvalidInput(f"{name}: TIFF samples of type {dtype} are not supported.", code="unsupported_format")
    check_pixels(name, width, height, slices)
    info = SourceInfo(
        kind="scalar",
        format="TIFF",
        width=width,
        height=height,
        slices=slices,
        bands=bands,
        sample_type=str(dtype),
        display={**DEFAULT_DISPLAY, "bands": default_bands(bands), "invert": False},
    )
    return ArraySource(info, path, "tiff", planar=axes.endswith("SYX"))


def _layout(name: str, shape: tuple[int, ...], axes: str) -> tuple[int, int, int, int]:
    """(height, width, bands, slices) of a tifffile series of ``shape`` and ``axes`` (e.g. "YX", "YXS", "QYX")."""
    if "Y" not in axes or "X" not in axes:
        raise InvalidInput(f"{name}: a TIFF without image rows and columns ({axes}).", code="unsupported_format")
    size = dict(zip(axes, shape, strict=True))
    bands = size.get("S", 1)
    slices = int(np.prod([n for axis, n in size.items() if axis not in "YXS"], dtype=np.int64))
    if not (axes.endswith("YX") or axes.endswith("YXS")):
        raise InvalidInput(f"{name}: TIFF layout {axes} is not supported.", code="unsupported_format")
    return size["Y"], size["X"], bands, max(slices, 1)


def _as_slice(data: np.ndarray, bands: int) -> np.ndarray:
    if bands == 1:
        return data.reshape(data.shape[-2:])
    return data.reshape(data.shape[-3:])
