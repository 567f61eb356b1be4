"""GeoTIFF: georeferenced rasters (satellite and aerial imagery, 1 to many bands of any integer or float type).

A TIFF carrying GeoTIFF tags (tifffile's ``is_geotiff``: a GeoKey directory, tie points, pixel scale or a model
transformation) is read with rasterio (GDAL). Its bands are the source's bands; it has one slice. The samples are
the stored values, except that pixels GDAL reports as invalid (the band's nodata value, an alpha band or an
internal mask) become NaN — the samples are then float32 (float64 for 32/64-bit integers, which float32 cannot
hold exactly) — so a percentile stretch ignores them and they show black.

Default display: the 2–98 % percentile stretch of each band (remote-sensing tools' usual 2 % stretch), bands
[0, 1, 2] (or the bands the file itself names red, green and blue) for three bands or more; 8-bit imagery (aerial
RGB) is shown as stored (window 0–255). Images of four bands or more get *band presets* in ``meta["band_presets"]``
(``[{"name", "bands"}]``: true colour, false colour (NIR), SWIR…) found from the band descriptions (``B04``,
``red``, ``nir``…) or colour interpretation, else guessed from the band count (13: Sentinel-2 L1C, 12: Sentinel-2
L2A, 11: Landsat 8/9, 4: blue-green-red-NIR as PlanetScope and Sentinel-2 10-m stacks).

``meta`` holds the georeferencing exactly as GDAL reads it: ``crs`` (``wkt``, ``epsg`` when the CRS is one,
``units``), ``transform`` (rasterio's affine order ``[a, b, c, d, e, f]``: pixel corner (col, row) lies at
``(a·col + b·row + c, d·col + e·row + f)``), ``bounds``, ``resolution``, ``nodata`` and per-band
``bands: [{"description", "colorinterp"}]``. Exports reopen the stored file for the CRS and transform (no
round trip through JSON).

Reading is strip by strip into the one output array (no band-major copy); the pixel bound is checked from the
header on width×height and on width×height×bands (``MAX_SOURCE_SAMPLES``), before any pixel is read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from backend.common.errors import InvalidInput
from backend.images.display import DEFAULT_DISPLAY, default_bands
from backend.images.sources import SourceInfo
from backend.images.sources.limits import check_pixels

TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
STRIP_SAMPLES = 1 << 24  # samples read at a time (all bands of a strip of rows)
# GDAL would list the stored file's folder (thousands of images) looking for side-car files (none are used) and
# keep up to 5 % of the RAM of decoded blocks (each is read once here: a small cache bounds the memory).
GDAL_OPTIONS = {"GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR", "GDAL_PAM_ENABLED": "NO", "GDAL_CACHEMAX": 64 << 20}

# Band roles by the names files give their bands (descriptions, lower-cased, without spaces, "_", "-", "." and any
# parenthesised wavelength), as STAC's common names and the usual spellings have them.
ROLE_NAMES = {
    "blue": "blue",
    "green": "green",
    "red": "red",
    "nir": "nir",
    "nir08": "nir",
    "nearinfrared": "nir",
    "nearir": "nir",
    "nir09": "nir_narrow",
    "swir1": "swir1",
    "swir16": "swir1",
    "swir2": "swir2",
    "swir22": "swir2",
}
COLOUR_ROLES = {"red": "red", "green": "green", "blue": "blue"}  # GDAL colour interpretations
# Sentinel-2 MSI band numbers (from names B01…B12, B8A) and their roles.
SENTINEL2 = {"2": "blue", "3": "green", "4": "red", "8": "nir", "8a": "nir_narrow", "11": "swir1", "12": "swir2"}
S2_L1C = ["1", "2", "3", "4", "5", "6", "7", "8", "8A", "9", "10", "11", "12"]
S2_L2A = ["1", "2", "3", "4", "5", "6", "7", "8", "8A", "9", "11", "12"]
# Band layouts guessed from the band count when nothing names the bands: (what is assumed, each role's 0-based
# band, the bands' names in preset names).
COUNT_LAYOUTS: dict[int, tuple[str, dict[str, int], list[str]]] = {
    13: ("Sentinel-2 L1C", {"blue": 1, "green": 2, "red": 3, "nir": 7, "nir_narrow": 8, "swir1": 11, "swir2": 12},
         S2_L1C),
    12: ("Sentinel-2 L2A", {"blue": 1, "green": 2, "red": 3, "nir": 7, "nir_narrow": 8, "swir1": 10, "swir2": 11},
         S2_L2A),
    11: ("Landsat 8/9", {"blue": 1, "green": 2, "red": 3, "nir": 4, "swir1": 5, "swir2": 6},
         [str(n) for n in range(1, 12)]),
    4: ("blue, green, red, NIR", {"blue": 0, "green": 1, "red": 2, "nir": 3}, ["1", "2", "3", "4"]),
}  # fmt: skip
# (name, the roles shown as red, green, blue); of two presets of one name the first that the bands allow.
PRESET_ROLES = [
    ("True colour", ("red", "green", "blue")),
    ("False colour", ("nir", "red", "green")),
    ("SWIR", ("swir2", "nir_narrow", "red")),
    ("SWIR", ("swir2", "nir", "red")),
    ("Agriculture", ("swir1", "nir", "blue")),
]


@dataclass
class GeoTiffSource:
    info: SourceInfo
    path: Path
    name: str
    masked: bool  # invalid pixels (nodata, alpha, internal mask) read as NaN

    def read_slice(self, index: int, bands: list[int] | None = None) -> np.ndarray:
        """The slice's samples (see ``Source.read_slice``); with ``bands`` (0-based), only those bands, in that
        order (H×W×len(bands)) — a display of 3 of 13 bands reads 3."""
        if index != 0:
            raise InvalidInput(f"{self.name}: a GeoTIFF has one slice, not {index + 1}.", code="bad_slice")
        chosen = list(range(self.info.bands)) if bands is None else list(bands)
        if not chosen or not all(0 <= band < self.info.bands for band in chosen):
            raise InvalidInput(f"{self.name}: bands are numbered 0 to {self.info.bands - 1}.", code="bad_display")
        with _opened(self.path, self.name) as dataset:
            out = np.empty((self.info.height, self.info.width, len(chosen)), dtype=self.info.sample_type)
            for top, rows in _strips(dataset):
                out[top : top + rows] = self._strip(dataset, top, rows, chosen)
        return out[:, :, 0] if self.info.bands == 1 else out

    def _strip(self, dataset: Any, top: int, rows: int, bands: list[int]) -> np.ndarray:
        """Rows ``top`` … ``top + rows`` of ``bands`` as rows × width × bands samples."""
        from rasterio.windows import Window

        window, indexes = Window(0, top, dataset.width, rows), [band + 1 for band in bands]
        try:
            data = dataset.read(indexes, window=window)
            if self.masked:
                data = data.astype(self.info.sample_type)
                data[dataset.read_masks(indexes, window=window) == 0] = np.nan
        except Exception as exc:  # noqa: BLE001 - GDAL's read errors: truncated or corrupt blocks, bad codec
            raise InvalidInput(
                f"{self.name}: the GeoTIFF's pixel data is truncated or corrupt (rows {top}–{top + rows - 1}: "
                f"{_short(exc)}).",
                code="corrupt_image",
            ) from exc
        return np.moveaxis(data, 0, -1)


def is_geotiff(path: Path) -> bool:
    """True for a TIFF whose first page carries GeoTIFF tags; False for anything else, unreadable TIFFs included
    (the scalar reader explains those)."""
    with path.open("rb") as handle:
        if handle.read(4) not in TIFF_SIGNATURES:
            return False
    import tifffile

    try:
        with tifffile.TiffFile(path) as tif:
            return bool(tif.is_geotiff)
    except Exception:  # noqa: BLE001 - not a TIFF tifffile can parse: not ours to explain
        return False


def open_geotiff(path: Path, name: str) -> GeoTiffSource | None:
    if not is_geotiff(path):
        return None
    with _opened(path, name) as dataset:
        width, height, bands = dataset.width, dataset.height, dataset.count
        check_pixels(name, width, height, 1)
        if bands < 1:
            raise InvalidInput(f"{name}: the GeoTIFF has no bands.", code="not_an_image")
        if width * height * bands > settings.MAX_SOURCE_SAMPLES:
            raise InvalidInput(
                f"{name}: {bands} bands of {width}×{height} is above the limit of {settings.MAX_SOURCE_SAMPLES:,} "
                "samples in one image (MAX_SOURCE_SAMPLES).",
                code="image_too_large",
            )
        stored = _stored_type(dataset, name)
        masked = any(flags != [_all_valid()] for flags in dataset.mask_flag_enums)
        sample_type = _sample_type(stored, masked)
        meta = _meta(dataset)
        presets, named_rgb = band_presets(meta["bands"])
        if presets:
            meta["band_presets"] = presets
        shown = named_rgb or default_bands(bands)
        if stored == "uint8":  # aerial RGB and class maps: shown as stored
            display: dict[str, Any] = {"mode": "window", "center": 127.5, "width": 255.0}
        else:
            display = dict(DEFAULT_DISPLAY)
        info = SourceInfo(
            kind="geotiff",
            format="GEOTIFF",
            width=width,
            height=height,
            bands=bands,
            sample_type=sample_type,
            display={**display, "bands": shown, "invert": False},
            meta=meta,
        )
        source = GeoTiffSource(info, path, name, masked)
        # A truncated file is refused at upload: its last rows are missing.
        source._strip(dataset, *_strips(dataset)[-1], list(range(bands)))
    return source


def _all_valid() -> Any:
    from rasterio.enums import MaskFlags

    return MaskFlags.all_valid


@contextmanager
def _opened(path: Path, name: str) -> Iterator[Any]:
    """The file opened by GDAL's GeoTIFF driver, without side-car lookups; a file GDAL cannot open is bad input."""
    import rasterio

    with rasterio.Env(**GDAL_OPTIONS):
        try:
            dataset = rasterio.open(path, driver="GTiff")
        except Exception as exc:  # noqa: BLE001 - GDAL's open errors: damaged header, unsupported layout
            raise InvalidInput(f"{name}: unreadable GeoTIFF ({_short(exc)}).", code="corrupt_image") from exc
        with dataset:
            yield dataset


def _short(exc: BaseException) -> str:
    """GDAL's first message (rasterio chains it as the cause of its "Read failed") without the stored file's path
    (a content-addressed name nobody uploaded)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return re.sub(r"(/[^\s:'\"]+)+", "the file", str(exc))[:300]


def _stored_type(dataset: Any, name: str) -> str:
    types = set(dataset.dtypes)
    if len(types) != 1:
        raise InvalidInput(f"{name}: GeoTIFF bands of mixed sample types ({', '.join(sorted(types))}).",
                           code="unsupported_format")  # fmt: skip
    (stored,) = types
    if stored.startswith("complex"):
        raise InvalidInput(f"{name}: complex GeoTIFF samples ({stored}, e.g. SAR SLC) are not supported.",
                           code="unsupported_format")  # fmt: skip
    if np.dtype(stored).kind not in "uif" or np.dtype(stored).itemsize > 8:
        raise InvalidInput(f"{name}: GeoTIFF samples of type {stored} are not supported.", code="unsupported_format")
    return "uint8" if stored == "bool" else stored


def _sample_type(stored: str, masked: bool) -> str:
    """What ``read_slice`` returns: the stored type, or a float type holding it exactly and NaN."""
    if not masked:
        return stored
    if np.dtype(stored).kind == "f":
        return stored if np.dtype(stored).itemsize >= 4 else "float32"
    return "float64" if np.dtype(stored).itemsize >= 4 else "float32"


def _strips(dataset: Any) -> list[tuple[int, int]]:
    """(top row, rows) of the strips a slice is read in: whole block rows, about ``STRIP_SAMPLES`` samples each."""
    block_rows = max(1, dataset.block_shapes[0][0])
    rows = max(block_rows, STRIP_SAMPLES // max(1, dataset.width * dataset.count) // block_rows * block_rows)
    return [(top, min(rows, dataset.height - top)) for top in range(0, dataset.height, rows)]


def _number(value: float | None) -> float | str | None:
    """A JSON-safe number (JSON has no NaN or infinity: those are written as strings)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else str(value)


def crs_meta(crs: Any) -> dict[str, Any] | None:
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return {
        "wkt": crs.to_wkt(),
        "epsg": epsg,
        "name": f"EPSG:{epsg}" if epsg else (crs.to_string() or "custom")[:200],
        "units": crs.linear_units if crs.is_projected else "degree" if crs.is_geographic else None,
    }


def _meta(dataset: Any) -> dict[str, Any]:
    transform = dataset.transform
    georeferenced = not transform.is_identity or dataset.crs is not None
    bands = [
        {"index": number, "description": dataset.descriptions[number - 1] or "",
         "colorinterp": dataset.colorinterp[number - 1].name}
        for number in range(1, dataset.count + 1)
    ]  # fmt: skip
    meta: dict[str, Any] = {
        "crs": crs_meta(dataset.crs),
        "transform": list(transform)[:6] if georeferenced else None,
        "bounds": list(dataset.bounds) if georeferenced and transform.is_rectilinear else None,
        "resolution": [abs(transform.a), abs(transform.e)] if transform.is_rectilinear and georeferenced else None,
        "nodata": _number(dataset.nodata),
        "stored_type": dataset.dtypes[0],
        "bands": bands,
    }
    if dataset.gcps[0]:
        meta["gcps"] = len(dataset.gcps[0])
    return meta


def _key(description: str) -> str:
    return re.sub(r"\(.*?\)|[\s_\-.]", "", description.lower())


def band_roles(bands: list[dict[str, Any]]) -> tuple[dict[str, int], list[str], str]:
    """``(roles, names, assumed)`` of an image's bands (``meta["bands"]``): the 0-based band of each role found
    (blue, green, red, nir, nir_narrow, swir1, swir2), each band's name in preset names (its number from 1, or
    Sentinel-2's band name) and what was assumed ("" when the file names its red, green and blue bands).

    Roles come from the band descriptions (STAC common names, "Red (665 nm)", Sentinel-2's B02…B12 and B8A — taken
    as Sentinel-2's only when a band is B8A, B12 or zero-padded B0x, since Landsat's B1…B11 mean other bands) or
    the colour interpretation; when they do not name red, green and blue, from the band count (COUNT_LAYOUTS)."""
    keys = [_key(band.get("description") or "") for band in bands]
    names = [str(number) for number in range(1, len(bands) + 1)]
    sentinel = any(re.fullmatch(r"b(8a|12|0\d)", key) for key in keys)
    roles: dict[str, int] = {}
    for index, (key, band) in enumerate(zip(keys, bands, strict=True)):
        if sentinel and (match := re.fullmatch(r"b0?(\d{1,2}a?)", key)):
            names[index] = match[1].upper()
            role = SENTINEL2.get(match[1])
        else:
            role = ROLE_NAMES.get(key) or COLOUR_ROLES.get(band.get("colorinterp") or "")
        if role is not None:
            roles.setdefault(role, index)
    if all(role in roles for role in ("red", "green", "blue")):
        return roles, names, ""
    if len(bands) in COUNT_LAYOUTS:
        return COUNT_LAYOUTS[len(bands)][1], COUNT_LAYOUTS[len(bands)][2], COUNT_LAYOUTS[len(bands)][0]
    return roles, names, "?"


def band_presets(bands: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[int] | None]:
    """The band presets (``[{"name", "bands"}]``) of an image's bands (``meta["bands"]``), and its true-colour bands
    when the file itself names its red, green and blue bands (the default display then), else None.

    Images of 4 bands or more get one preset per ``PRESET_ROLES`` entry their bands allow — named with the bands
    shown, e.g. "True colour 4-3-2", and what was assumed when the roles come from the band count — and
    "Bands 1-2-3"; images of fewer bands get none (their default display shows their bands)."""
    roles, names, assumed = band_roles(bands)
    presets: list[dict[str, Any]] = []
    if len(bands) >= 4:
        for title, wanted in PRESET_ROLES:
            if all(role in roles for role in wanted) and not any(p["name"].startswith(title) for p in presets):
                chosen = [roles[role] for role in wanted]
                suffix = f" (as {assumed})" if assumed not in ("", "?") else ""
                presets.append({"name": f"{title} {'-'.join(names[b] for b in chosen)}{suffix}", "bands": chosen})
        presets.append({"name": "Bands 1-2-3", "bands": [0, 1, 2]})
    rgb = [roles["red"], roles["green"], roles["blue"]] if assumed == "" else None
    return presets, rgb
