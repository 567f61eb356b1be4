"""How a slice of a volume (NIfTI, DICOM series) is laid out on screen, and back: one place for both directions.

A volume's voxels are ``(i, j, k)``: ``i`` the first voxel axis, ``j`` the second, ``k`` the slice. Slice ``k`` is
shown ``width = ni`` columns by ``height = nj`` rows, column ``c = i``, and rows either

- ``"-j"`` (NIfTI): row ``r`` is ``j = nj - 1 - r`` — the second axis runs upwards, as nibabel, FSLeyes and
  ITK-SNAP draw an axial slice (``imshow(data[:, :, k].T, origin="lower")``): for a volume stored RAS+ the patient's
  anterior is at the top and the patient's right on the viewer's right; stored LAS (dcm2niix, FSL) it is the
  radiological view, the patient's right on the viewer's left. The sides are in ``meta["sides"]`` either way;
- ``"+j"`` (DICOM): row ``r`` is ``j = r``, the pixel rows as stored, as every DICOM viewer shows them.

Masks drawn on the screen go back to voxels by the exact inverse (:func:`voxels_of_display`): exports land in the
source's voxel space, under its affine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

OPPOSITE = {"R": "L", "L": "R", "A": "P", "P": "A", "S": "I", "I": "S"}


def voxel_layout(rows: str) -> dict[str, str]:
    """``meta["voxel_layout"]``: which voxel axis runs along the screen's columns, rows and slices."""
    assert rows in ("-j", "+j")
    return {"columns": "+i", "rows": rows, "slices": "+k"}


def rows_reversed(meta: dict[str, Any]) -> bool:
    return meta.get("voxel_layout", {}).get("rows") == "-j"


def display_of_voxels(plane: np.ndarray, *, reversed_rows: bool) -> np.ndarray:
    """The screen view (rows × columns [× bands]) of a voxel plane ``plane[i, j(, band)]``."""
    view = np.swapaxes(plane, 0, 1)
    return np.ascontiguousarray(view[::-1] if reversed_rows else view)


def voxels_of_display(view: np.ndarray, *, reversed_rows: bool) -> np.ndarray:
    """The voxel plane ``[i, j]`` of a screen view ``[row, column]``: the exact inverse of :func:`display_of_voxels`."""
    return np.swapaxes(view[::-1] if reversed_rows else view, 0, 1)


def axis_codes(affine: np.ndarray) -> list[str | None]:
    """The world direction (RAS+ letters) each voxel axis points to."""
    from nibabel.orientations import aff2axcodes

    return list(aff2axcodes(affine))


def screen_sides(codes: list[str | None], *, reversed_rows: bool) -> dict[str, str] | None:
    """The patient directions at the screen's edges (``{"left": "R", "right": "L", "top": "A", "bottom": "P"}``)."""
    if codes[0] is None or codes[1] is None:
        return None
    towards_i, towards_j = codes[0], codes[1]
    top, bottom = (towards_j, OPPOSITE[towards_j]) if reversed_rows else (OPPOSITE[towards_j], towards_j)
    return {"left": OPPOSITE[towards_i], "right": towards_i, "top": top, "bottom": bottom}


def affine_list(affine: np.ndarray) -> list[list[float]]:
    return [[float(value) for value in row] for row in np.asarray(affine, dtype=np.float64)]
