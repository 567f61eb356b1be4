"""Bilinear resize with ``align_corners=True`` semantics (what RITM/EISeg use for zoom-in), in NumPy.

Output pixel ``i`` samples input position ``i * (n_in - 1) / (n_out - 1)``, so the corners of the
input and the output coincide. Separable: rows first, then columns; positions and weights in float32
like PyTorch's CPU kernel (agreement with ``F.interpolate(..., align_corners=True)`` within ~1e-7 relative).
Engine-agnostic (no torch).
"""

from __future__ import annotations

import numpy as np


def _axis_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices of the two neighbours and the weight of the second one, for each output position."""
    if n_out == 1 or n_in == 1:
        src = np.zeros(n_out, dtype=np.float32)
    else:
        src = np.arange(n_out, dtype=np.float32) * np.float32((n_in - 1) / (n_out - 1))
    lo = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    weight = src - lo.astype(np.float32)
    return lo, hi, weight


def _lerp(low: np.ndarray, high: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``low + (high - low) * weight``, computed in place in ``high`` (both float32, fresh arrays)."""
    high -= low
    high *= weight
    high += low
    return high


def resize_bilinear(array: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize the first two axes of an H×W or H×W×C array to ``height``×``width`` (float32 result)."""
    if array.shape[:2] == (height, width):
        return array.astype(np.float32, copy=False)
    rows = array
    if array.shape[0] != height:
        lo, hi, w = _axis_taps(array.shape[0], height)
        w = w.reshape((-1,) + (1,) * (array.ndim - 1))
        rows = _lerp(array[lo].astype(np.float32), array[hi].astype(np.float32), w)
    if array.shape[1] == width:
        return rows.astype(np.float32, copy=False)
    lo, hi, w = _axis_taps(array.shape[1], width)
    w = w.reshape((1, -1) + (1,) * (array.ndim - 2))
    return _lerp(rows[:, lo].astype(np.float32, copy=False), rows[:, hi].astype(np.float32), w)
