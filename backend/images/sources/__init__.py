"""Images that are not 8-bit photos: what a stored source holds, and the readers that open one.

A *source* is the uploaded file kept losslessly (16-bit or float TIFF/PNG, DICOM, NIfTI, GeoTIFF…). It has one or
more *slices* (a 2-D image has one; a volume or a DICOM series has many), each ``height``×``width`` with ``bands``
samples per pixel, as numbers after any rescale the format defines (DICOM's slope/intercept). Nobody — neither the
browser nor the model — sees those numbers directly: every slice is shown through the image's *display mapping*
(:mod:`backend.images.display`), and that 8-bit rendering is what the annotator sees and what the model segments.

:func:`open_source` tries each reader on a file and returns the first that recognises it, or ``None`` for files
the photo path (Pillow, 8-bit) handles. A reader raises :class:`backend.common.errors.InvalidInput` for a file it
recognises but cannot use (corrupt, unsupported encoding, too many pixels).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class SourceInfo:
    """What is known about a source without reading its pixels."""

    kind: str  # "scalar" (16-bit/float photo-like), "dicom", "nifti", "geotiff"
    format: str  # the decoded format: "TIFF", "PNG", "DICOM", "NIFTI"…
    width: int
    height: int
    slices: int = 1
    bands: int = 1
    sample_type: str = "uint16"  # numpy dtype name of the samples read_slice returns
    presets: list[dict[str, Any]] = field(default_factory=list)  # [{"name", "center", "width"}] window presets
    display: dict[str, Any] = field(default_factory=dict)  # the default display mapping (backend.images.display)
    meta: dict[str, Any] = field(default_factory=dict)  # shown to every member: spacing, modality, CRS, affine…
    private_meta: dict[str, Any] = field(default_factory=dict)  # patient-identifying: shown to nobody


class Source(Protocol):
    info: SourceInfo

    def read_slice(self, index: int, bands: list[int] | None = None) -> np.ndarray:
        """Slice ``index`` (0-based) as H×W or H×W×bands samples (``info.sample_type``), rows top to bottom; with
        ``bands`` (0-based), only those bands, in that order (H×W×len(bands)): a display of 3 of 13 bands reads
        3 where the format allows it."""
        ...


def chosen_bands(samples: np.ndarray, bands: list[int] | None) -> np.ndarray:
    """``samples`` (H×W or H×W×B) narrowed to ``bands`` as ``read_slice`` returns them, for readers that read
    every band anyway."""
    if bands is None:
        return samples
    planes = samples[:, :, None] if samples.ndim == 2 else samples
    return planes[:, :, bands]


class Reader(Protocol):
    def __call__(self, path: Path, name: str) -> Source | None:
        """The source in ``path``, or ``None`` when the file is not of this reader's format."""
        ...


def readers() -> list[Reader]:
    # Imported here: each reader pulls in its format's library only when an upload is checked.
    from backend.images.sources import dicom, dicom_series, geotiff, nifti, scalar

    return [
        dicom.open_dicom,
        nifti.open_nifti,
        dicom_series.open_dicom_series,
        geotiff.open_geotiff,
        scalar.open_scalar,
    ]


def open_source(path: Path, name: str) -> Source | None:
    """The source stored in ``path`` (uploaded as ``name``), or ``None`` when it is an ordinary 8-bit photo."""
    for reader in readers():
        source = reader(path, name)
        if source is not None:
            return source
    return None
