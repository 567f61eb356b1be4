"""NIfTI volumes (``.nii``, ``.nii.gz``; NIfTI-1 and NIfTI-2), read with nibabel, one slice at a time.

Slices run along the third voxel axis; each is shown as :mod:`backend.images.sources.volumes` describes (columns the
first axis, rows the second axis reversed), the inverse of which puts exported masks back in voxel space. Samples
are the stored values after ``scl_slope``/``scl_inter``. A 2-D file is a stack of one slice; a 4-D file of one
volume (trailing dimensions of 1) is a 3-D one; a file of several volumes (fMRI, DWI) is refused: which volume to
annotate is the uploader's choice, made before the upload.

The default display is a 0.5–99.5 % stretch of each slice, or, when the volume looks like CT in Hounsfield units
(air at about -1000 in its middle slice), the soft-tissue window with the usual CT presets.

Reading is bounded: nibabel's array proxy reads only the requested slice. In a gzip file that slice is found by
decompressing everything before it (0.8 s for the last slice of a 150 MB volume, against under 1 ms uncompressed),
so :func:`stored_nifti` turns an uploaded ``.nii.gz`` into the ``.nii`` it contains (the same header and voxels,
byte for byte) before it is stored.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import tempfile
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from backend.common.errors import InvalidInput
from backend.images.display import band_percentiles
from backend.images.sources import SourceInfo, chosen_bands
from backend.images.sources.limits import check_pixels
from backend.images.sources.volumes import (
    affine_list,
    axis_codes,
    display_of_voxels,
    screen_sides,
    voxel_layout,
)

GZIP_MAGIC = b"\x1f\x8b"
NIFTI1_MAGIC = b"n+1\x00"
NIFTI1_PAIR_MAGIC = b"ni1\x00"
NIFTI2_MAGIC = b"n+2\x00\r\n\x1a\n"
NIFTI2_PAIR_MAGIC = b"ni2\x00\r\n\x1a\n"
HEADER_BYTES = 544  # a NIfTI-2 header and its extension flag
CHUNK_BYTES = 1 << 20
TRAILING_BYTES = 1 << 20  # data allowed after the voxels in a gzip stream before it counts as a bomb
CT_AIR = (-3100.0, -900.0)  # the lowest value of a CT slice in HU: air (-1000) or the scanner's padding (-2048, -3024)


@dataclass(frozen=True)
class Layout:
    """What the header says, read without the voxels."""

    version: int  # 1 or 2
    shape: tuple[int, int, int]  # (ni, nj, slices)
    ndim: int  # dimensions in the file (2 to 7; those past the third are all 1)
    dtype: np.dtype
    vox_offset: int
    slope: float | None  # None: stored values as they are
    inter: float | None

    @property
    def data_bytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    @property
    def sample_type(self) -> str:
        if self.slope is None:
            return str(self.dtype.newbyteorder("="))
        return "float64" if self.dtype.itemsize == 8 and self.dtype.kind == "f" else "float32"


class NiftiSource:
    def __init__(self, path: Path, name: str, layout: Layout, compressed: bool) -> None:
        self.path, self.name, self.layout, self.compressed = path, name, layout, compressed

    def read_slice(self, index: int, bands: list[int] | None = None) -> np.ndarray:
        if not 0 <= index < self.layout.shape[2]:
            raise InvalidInput(f"{self.name}: slice {index} does not exist.", code="bad_slice")
        return chosen_bands(display_of_voxels(self.voxel_plane(index), reversed_rows=True), bands)

    def voxel_plane(self, index: int) -> np.ndarray:
        """Slice ``index`` as stored: ``plane[i, j]``, scaled."""
        key = (slice(None), slice(None)) + ((index,) if self.layout.ndim >= 3 else ())
        key += (0,) * max(self.layout.ndim - 3, 0)
        with self.path.open("rb") as raw:
            handle = gzip.GzipFile(fileobj=raw) if self.compressed else raw
            try:
                image = _image_class(self.layout.version).from_stream(handle)
                plane = np.asarray(image.dataobj[key])
            except Exception as exc:  # noqa: BLE001 - truncated or corrupt voxel data
                raise InvalidInput(
                    f"{self.name}: the NIfTI voxel data is unreadable ({exc}).", code="corrupt_image"
                ) from exc
        return plane.reshape(self.layout.shape[:2]).astype(self.layout.sample_type, copy=False)

    @cached_property
    def info(self) -> SourceInfo:
        """Read on first use (an upload): the header and, for the default display, the middle slice."""
        header = self._header()
        affine = np.asarray(header.get_best_affine(), dtype=np.float64)
        codes = axis_codes(affine)
        ni, nj, slices = self.layout.shape
        spacing = [float(z) for z in header.get_zooms()[:3]] + [1.0] * (3 - min(3, len(header.get_zooms())))
        display: dict[str, Any]
        presets: list[dict[str, Any]] = []
        if _looks_like_ct(self.voxel_plane(slices // 2)):
            from backend.images.sources.dicom import CT_PRESETS

            presets = [dict(preset) for preset in CT_PRESETS]
            display = {"mode": "window", "center": presets[0]["center"], "width": presets[0]["width"]}
        else:
            display = {"mode": "percentile", "low": 0.5, "high": 99.5}
        display |= {"bands": [0], "invert": False}
        space_unit, time_unit = header.get_xyzt_units()
        meta: dict[str, Any] = {
            "affine": affine_list(affine),
            "spacing": spacing,
            "shape": [ni, nj, slices],
            "orientation": codes,
            "voxel_layout": voxel_layout("-j"),
            "sides": screen_sides(codes, reversed_rows=True),
            "qform_code": int(header["qform_code"]),
            "sform_code": int(header["sform_code"]),
            "units": space_unit,
            "data_type": str(self.layout.dtype.newbyteorder("=")),
            "nifti_version": self.layout.version,
        }
        if self.layout.slope is not None:
            meta["scaling"] = {"slope": self.layout.slope, "inter": self.layout.inter}
        intent = header.get_intent()[0]
        if intent != "none":
            meta["intent"] = intent
        private = {
            key: text for key in ("descrip", "aux_file", "db_name") if key in header and (text := _text(header[key]))
        }
        return SourceInfo(
            kind="nifti",
            format="NIFTI",
            width=ni,
            height=nj,
            slices=slices,
            bands=1,
            sample_type=self.layout.sample_type,
            presets=presets,
            display=display,
            meta=meta,
            private_meta=private,
        )

    def _header(self) -> Any:
        with self.path.open("rb") as raw:
            handle = gzip.GzipFile(fileobj=raw) if self.compressed else raw
            return _image_class(self.layout.version).header_class.from_fileobj(handle)


def _image_class(version: int) -> Any:
    import nibabel

    return nibabel.Nifti2Image if version == 2 else nibabel.Nifti1Image


def _text(value: Any) -> str:
    raw = np.asarray(value).item()
    return (raw.decode("latin-1") if isinstance(raw, bytes) else str(raw)).strip("\x00 ").strip()


def _head(path: Path) -> tuple[bytes, bool]:
    """The first bytes of the file (decompressed when it is gzip), and whether it was gzip."""
    with path.open("rb") as handle:
        start = handle.read(HEADER_BYTES)
    if not start.startswith(GZIP_MAGIC):
        return start, False
    try:
        with gzip.open(path, "rb") as handle:
            return handle.read(HEADER_BYTES), True
    except (OSError, EOFError, zlib.error):
        return b"", True


def nifti_version(head: bytes) -> int | None:
    """1 or 2 when ``head`` starts a NIfTI header (either byte order), else None."""
    sizes = {struct.unpack("<i", head[:4])[0], struct.unpack(">i", head[:4])[0]} if len(head) >= 4 else set()
    if 348 in sizes and len(head) >= 348 and head[344:348] in (NIFTI1_MAGIC, NIFTI1_PAIR_MAGIC):
        return 1
    if 540 in sizes and head[4:12] in (NIFTI2_MAGIC, NIFTI2_PAIR_MAGIC):
        return 2
    return None


def open_nifti(path: Path, name: str) -> NiftiSource | None:
    head, compressed = _head(path)
    version = nifti_version(head)
    if version is None:
        lowered = name.lower()
        if lowered.endswith((".nii", ".nii.gz")):
            raise InvalidInput(f"{name}: not a readable NIfTI file (no NIfTI header).", code="corrupt_image")
        return None
    if head[344:348] == NIFTI1_PAIR_MAGIC or head[4:12] == NIFTI2_PAIR_MAGIC:
        raise InvalidInput(
            f"{name}: a NIfTI header whose voxels are in a separate .img file; upload a single-file .nii or .nii.gz.",
            code="unsupported_format",
        )
    layout = _layout(name, path, compressed, version)
    _check_size(path, name, layout, compressed)
    source = NiftiSource(path, name, layout, compressed)
    source.voxel_plane(0)  # the voxels are there and readable
    return source


def _layout(name: str, path: Path, compressed: bool, version: int) -> Layout:
    import nibabel

    header_class = nibabel.Nifti2Header if version == 2 else nibabel.Nifti1Header
    try:
        with path.open("rb") as raw:
            header = header_class.from_fileobj(gzip.GzipFile(fileobj=raw) if compressed else raw, check=True)
    except Exception as exc:  # noqa: BLE001 - a damaged header is bad input
        raise InvalidInput(f"{name}: unreadable NIfTI header ({exc}).", code="corrupt_image") from exc
    dims = [int(d) for d in header["dim"]]
    ndim = dims[0]
    if not 2 <= ndim <= 7:
        raise InvalidInput(f"{name}: a NIfTI image of {ndim} dimensions is not supported.", code="unsupported_format")
    sizes = dims[1 : ndim + 1]
    extra = int(np.prod(sizes[3:], dtype=np.int64)) if ndim > 3 else 1
    if extra != 1:
        raise InvalidInput(
            f"{name}: a {ndim}-D NIfTI of shape {tuple(sizes)} holds {extra} volumes; upload one volume "
            "(e.g. nibabel's img.slicer[..., 0] or fslroi in out 0 1).",
            code="unsupported_format",
        )
    ni, nj = sizes[0], sizes[1]
    slices = sizes[2] if ndim >= 3 else 1
    check_pixels(name, ni, nj, slices)
    try:
        dtype = np.dtype(header.get_data_dtype())
    except Exception as exc:  # noqa: BLE001 - an unknown datatype code
        raise InvalidInput(f"{name}: unknown NIfTI datatype ({exc}).", code="unsupported_format") from exc
    if dtype.kind == "b":
        dtype = np.dtype(np.uint8)
    if dtype.fields is not None or dtype.kind not in "uif" or dtype.itemsize > 8:
        raise InvalidInput(
            f"{name}: NIfTI voxels of type {header.get_data_dtype()} (colour or complex) are not supported.",
            code="unsupported_format",
        )
    slope, inter = header.get_slope_inter()
    if slope is not None and (not np.isfinite(slope) or slope == 0):
        slope, inter = None, None
    if slope == 1.0 and not inter:
        slope, inter = None, None
    vox_offset = int(header["vox_offset"])
    return Layout(
        version,
        (ni, nj, slices),
        ndim,
        dtype,
        vox_offset,
        None if slope is None else float(slope),
        None if slope is None else float(inter or 0.0),
    )


def _check_size(path: Path, name: str, layout: Layout, compressed: bool) -> None:
    """The file holds every voxel its header declares; a gzip file is decompressed whole once (chunk by chunk,
    its CRC checked: a flipped byte anywhere is found), then remembered by path, size and time."""
    expected = layout.vox_offset + layout.data_bytes
    if not compressed:
        actual = path.stat().st_size
        if actual < expected:
            raise InvalidInput(
                f"{name}: the NIfTI file is truncated ({actual:,} of {expected:,} bytes).", code="corrupt_image"
            )
        return
    status = path.stat()
    key = (str(path), status.st_size, status.st_mtime_ns)
    if key in _CHECKED_GZIP:
        return
    total = _gunzipped(path, name, None, expected)
    if total < expected:
        raise InvalidInput(
            f"{name}: the NIfTI data is truncated ({total:,} of {expected:,} bytes).", code="corrupt_image"
        )
    if len(_CHECKED_GZIP) > 256:
        _CHECKED_GZIP.clear()
    _CHECKED_GZIP.add(key)


_CHECKED_GZIP: set[tuple[str, int, int]] = set()


def _gunzipped(path: Path, name: str, out: Any, expected: int, digest: Any = None) -> int:
    """Decompress ``path`` (into ``out`` when given), chunk by chunk; its decompressed length. Refuses a stream
    that is corrupt, or that goes on well past the ``expected`` bytes (a gzip bomb)."""
    total = 0
    try:
        with gzip.open(path, "rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                total += len(chunk)
                if total > expected + TRAILING_BYTES:
                    raise InvalidInput(
                        f"{name}: the gzip stream holds more data than the NIfTI header declares ({expected:,} bytes).",
                        code="corrupt_image",
                    )
                if out is not None:
                    out.write(chunk)
                if digest is not None:
                    digest.update(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise InvalidInput(f"{name}: the gzip data is truncated or corrupt ({exc}).", code="corrupt_image") from exc
    return total


def _looks_like_ct(plane: np.ndarray) -> bool:
    finite = plane[np.isfinite(plane)]
    if finite.size == 0:
        return False
    lowest = float(finite.min())
    _, high = band_percentiles(finite.astype(np.float32), 0.5, 99.5)
    return CT_AIR[0] <= lowest <= CT_AIR[1] and high >= -200.0


def stored_nifti(staged: Any, directory: Path) -> Any:
    """The form of an uploaded NIfTI that is stored: an uploaded ``.nii.gz`` (``staged``, a StagedFile) becomes a
    new StagedFile of the ``.nii`` it holds — the same bytes, decompressed, so any slice is read at once — named
    without its ``.gz``; any other file is returned as it is. InvalidInput for a broken gzip or NIfTI."""
    from backend.images.staging import StagedFile

    head, compressed = _head(staged.path)
    version = nifti_version(head) if compressed else None
    if version is None:
        if compressed and staged.name.lower().endswith(".nii.gz"):
            raise InvalidInput(f"{staged.name}: not a readable NIfTI file (no NIfTI header).", code="corrupt_image")
        return staged
    layout = _layout(staged.name, staged.path, True, version)
    expected = layout.vox_offset + layout.data_bytes
    digest = hashlib.sha256()
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".nii")
    try:
        with os.fdopen(handle, "wb") as out:
            total = _gunzipped(staged.path, staged.name, out, expected, digest)
        if total < expected:
            raise InvalidInput(
                f"{staged.name}: the NIfTI data is truncated ({total:,} of {expected:,} bytes).", code="corrupt_image"
            )
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    staged.path.unlink(missing_ok=True)
    name = staged.name[:-3] if staged.name.lower().endswith(".gz") else staged.name
    return StagedFile(name=name, path=Path(temporary), size=total, sha256=digest.hexdigest())
