"""The display mapping: how the samples of a slice (any bit depth, any number of bands) become the 8-bit RGB the
annotator sees — and the model segments, since it is given exactly that rendering.

A mapping is a small JSON object stored per image:

- ``{"mode": "window", "center": c, "width": w}`` — window/level: ``c - w/2`` shows black, ``c + w/2`` white,
  linear between (DICOM's convention, in the units after rescale, e.g. Hounsfield units);
- ``{"mode": "percentile", "low": 2, "high": 98}`` — the ``low``-th percentile of each band shows black, the
  ``high``-th white (the default: a 2 % stretch, as remote-sensing tools do);

either with ``"bands": [r, g, b]`` (0-based band indices shown as red, green, blue; one index shows grey) and
``"invert": true`` (MONOCHROME1 DICOM, or by choice).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from backend.common.errors import InvalidInput

DEFAULT_DISPLAY: dict[str, Any] = {"mode": "percentile", "low": 2.0, "high": 98.0}
PERCENTILE_SAMPLE = 1 << 20  # percentiles of big slices are taken on about this many evenly spaced samples


def default_bands(bands: int) -> list[int]:
    return [0, 1, 2] if bands >= 3 else [0]


def checked_display(given: Any, *, bands: int) -> dict[str, Any]:
    """``given`` as a clean mapping for an image of ``bands`` bands; InvalidInput says what is wrong."""
    if not isinstance(given, dict):
        raise InvalidInput("The display mapping is a JSON object.", code="bad_display")
    mode = given.get("mode")
    if mode == "window":
        center, width = _number(given, "center"), _number(given, "width")
        if width <= 0:
            raise InvalidInput("The window width must be above 0.", code="bad_display")
        clean: dict[str, Any] = {"mode": "window", "center": center, "width": width}
    elif mode == "percentile":
        low, high = _number(given, "low"), _number(given, "high")
        if not 0 <= low < high <= 100:
            raise InvalidInput("Percentiles need 0 ≤ low < high ≤ 100.", code="bad_display")
        clean = {"mode": "percentile", "low": low, "high": high}
    else:
        raise InvalidInput("The display mode is 'window' or 'percentile'.", code="bad_display")
    chosen = given.get("bands", default_bands(bands))
    if (
        not isinstance(chosen, list)
        or len(chosen) not in (1, 3)
        or not all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b < bands for b in chosen)
    ):
        raise InvalidInput(f"'bands' is a list of 1 or 3 band indices from 0 to {bands - 1}.", code="bad_display")
    clean["bands"] = chosen
    clean["invert"] = bool(given.get("invert", False))
    return clean


def _number(given: dict, key: str) -> float:
    value = given.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise InvalidInput(f"'{key}' must be a finite number.", code="bad_display")
    return float(value)


def display_digest(display: dict[str, Any]) -> str:
    """A short name of the mapping: renderings are cached under it."""
    return hashlib.sha256(json.dumps(display, sort_keys=True).encode()).hexdigest()[:16]


def render(samples: np.ndarray, display: dict[str, Any]) -> np.ndarray:
    """The RGB uint8 H×W×3 rendering of one slice's ``samples`` (H×W or H×W×bands) under ``display``."""
    if samples.ndim == 2:
        samples = samples[:, :, None]
    channels = [_map_band(samples[:, :, band], display) for band in display["bands"]]
    if len(channels) == 1:
        channels = channels * 3
    rgb = np.stack(channels, axis=2)
    return np.ascontiguousarray(255 - rgb if display.get("invert") else rgb)


def _map_band(band: np.ndarray, display: dict[str, Any]) -> np.ndarray:
    values = band.astype(np.float32, copy=False)
    if display["mode"] == "window":
        low = display["center"] - display["width"] / 2
        high = display["center"] + display["width"] / 2
    else:
        low, high = band_percentiles(values, display["low"], display["high"])
    if high <= low:  # a constant band: everything at the low end shows black, anything above white
        return np.where(values > low, 255, 0).astype(np.uint8)
    scaled = (np.nan_to_num(values, nan=low) - low) * (255.0 / (high - low))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def band_percentiles(values: np.ndarray, low: float, high: float) -> tuple[float, float]:
    """The ``low``-th and ``high``-th percentiles of the finite values of a band (sampled when it is big)."""
    flat = values.reshape(-1)
    if flat.size > PERCENTILE_SAMPLE:
        flat = flat[:: flat.size // PERCENTILE_SAMPLE]
    flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return 0.0, 0.0
    lo, hi = np.percentile(flat, [low, high])
    return float(lo), float(hi)
