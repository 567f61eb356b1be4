"""DICOM series: the single-frame instances of one SeriesInstanceUID uploaded together become one stack.

:func:`group_series` runs on an upload's staged files before they are checked: the instances of each series of two
or more are ordered along the slice normal (ImagePositionPatient projected on the cross product of
ImageOrientationPatient's row and column directions), or by InstanceNumber when a position or orientation is
missing or the orientations differ, and replaced by one *series file*: a zip holding the original instances
unchanged (losslessly, each keeping its own rescale, window and transfer syntax) as ``slices/00000.dcm``… in slice
order, after a manifest ``series.json``. The zip is written deterministically, so the same instances make the same
file (and the upload's duplicate check sees it).

:func:`open_dicom_series` reads such a file as a :class:`~backend.images.sources.Source`: slice ``k`` is instance
``k``, its pixels after its own rescale slope/intercept, shown as stored (columns ``i``, rows ``j``, see
:mod:`backend.images.sources.volumes`). ``meta["affine"]`` maps voxel ``(i, j, k)`` — column, row, slice — to RAS+
millimetres (NIfTI's world; DICOM's patient LPS with x and y negated), from ImagePositionPatient of the first and
last slice, ImageOrientationPatient and PixelSpacing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from backend.common.errors import InvalidInput
from backend.images.sources import SourceInfo, chosen_bands
from backend.images.sources.dicom import (
    IDENTIFYING_KEYWORDS,
    PUBLIC_KEYWORDS,
    _attributes,
    _pixels,
    _presets,
    _rescaled,
    is_dicom,
)
from backend.images.sources.limits import check_pixels
from backend.images.sources.volumes import affine_list, axis_codes, screen_sides, voxel_layout

MANIFEST = "series.json"
MANIFEST_FORMAT = "edgeflow-dicom-series"
ZIP_SIGNATURE = b"PK\x03\x04"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ZIP_LEVEL = 1
ORIENTATION_TOLERANCE = 1e-3
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class Instance:
    staged: Any  # StagedFile
    dataset: Any  # its header (no pixels)

    @property
    def name(self) -> str:
        return self.staged.name


# ---- Grouping at upload ----


def group_series(staged: list[Any], directory: Path) -> list[Any]:
    """``staged`` (StagedFiles) with the single-frame DICOM instances of each series of two or more replaced by
    one series file (a new StagedFile in ``directory``, in the place of the series' first instance); every other
    file as it is, in order. InvalidInput names the series and the files when a series cannot be one stack
    (different sizes, several images at one position, undecodable pixels)."""
    series: dict[str, list[Instance]] = {}
    for item in staged:
        dataset = _header(item)
        if dataset is None:
            continue
        uid = str(getattr(dataset, "SeriesInstanceUID", "") or "")
        frames = int(getattr(dataset, "NumberOfFrames", 1) or 1)
        if uid and frames == 1 and "Rows" in dataset and "Columns" in dataset:
            series.setdefault(uid, []).append(Instance(item, dataset))
    replaced: dict[int, Any] = {}  # id of the first instance's StagedFile → the series file
    dropped: set[int] = set()
    names = _series_names(series)
    for uid, instances in series.items():
        unique = _without_copies(instances)
        if len(unique) < 2:
            continue
        ordered, ordering, positions = _ordered(uid, unique)
        replaced[id(instances[0].staged)] = _write_series(names[uid], ordered, ordering, positions, directory)
        dropped |= {id(instance.staged) for instance in instances}
    result = []
    for item in staged:
        if id(item) in replaced:
            result.append(replaced[id(item)])
        elif id(item) not in dropped:
            result.append(item)
    for item in staged:
        if id(item) in dropped:
            item.path.unlink(missing_ok=True)
    return result


def _header(item: Any) -> Any:
    if item.size < 132 or not is_dicom(item.path):
        return None
    import pydicom

    try:
        return pydicom.dcmread(item.path, stop_before_pixels=True)
    except Exception:  # noqa: BLE001 - left to the single-file reader, which refuses it with the reason
        return None


def _without_copies(instances: list[Instance]) -> list[Instance]:
    seen: set[str] = set()
    unique = []
    for instance in instances:
        if instance.staged.sha256 not in seen:
            seen.add(instance.staged.sha256)
            unique.append(instance)
    return unique


def _series_names(series: dict[str, list[Instance]]) -> dict[str, str]:
    """A name per series: the folder its files came in (or its first file's stem), ``_series<SeriesNumber>``."""
    names = {}
    for number, (uid, instances) in enumerate(series.items(), start=1):
        paths = [PurePosixPath(instance.name.replace("\\", "/")) for instance in instances]
        folders = {path.parent for path in paths}
        base = folders.pop().name if len(folders) == 1 and paths[0].parent.name else paths[0].stem
        series_number = str(getattr(instances[0].dataset, "SeriesNumber", "") or "").strip() or str(number)
        names[uid] = f"{base or 'dicom'}_series{series_number}.zip"
    return names


def _floats(dataset: Any, keyword: str, count: int) -> np.ndarray | None:
    value = getattr(dataset, keyword, None)
    try:
        numbers = np.array([float(v) for v in value], dtype=np.float64) if value is not None else None
    except (TypeError, ValueError):
        return None
    return numbers if numbers is not None and numbers.size == count and np.isfinite(numbers).all() else None


def _ordered(uid: str, instances: list[Instance]) -> tuple[list[Instance], str, list[float]]:
    """The instances in slice order, what ordered them ("position" or "instance number") and, by position, each
    one's distance along the slice normal (mm)."""
    label = f"DICOM series {uid}"
    sizes: dict[tuple[int, int, int], list[str]] = {}
    for instance in instances:
        d = instance.dataset
        key = (int(d.Rows), int(d.Columns), int(getattr(d, "SamplesPerPixel", 1) or 1))
        sizes.setdefault(key, []).append(instance.name)
    if len(sizes) > 1:
        described = "; ".join(
            f"{columns}×{rows}{'' if samples == 1 else f'×{samples}'} in {len(files)} file(s) (e.g. {files[0]})"
            for (rows, columns, samples), files in sorted(sizes.items(), key=lambda item: -len(item[1]))
        )
        raise InvalidInput(f"{label}: its images are not all the same size ({described}).", code="bad_series")
    orientations = [_floats(i.dataset, "ImageOrientationPatient", 6) for i in instances]
    positions = [_floats(i.dataset, "ImagePositionPatient", 3) for i in instances]
    if all(o is not None for o in orientations) and all(p is not None for p in positions):
        first = orientations[0]
        if all(np.abs(o - first).max() <= ORIENTATION_TOLERANCE for o in orientations):
            normal = np.cross(first[:3], first[3:])
            along = [float(np.dot(p, normal)) for p in positions]
            order = sorted(range(len(instances)), key=lambda index: along[index])
            for before, after in zip(order, order[1:], strict=False):
                if abs(along[after] - along[before]) < 1e-4:
                    raise InvalidInput(
                        f"{label}: {instances[before].name} and {instances[after].name} lie at the same position "
                        f"({along[before]:.3f} mm along the slice normal): a series of several images per position "
                        "(echoes, phases, time points) is not one stack; upload them as separate series.",
                        code="bad_series",
                    )
            return [instances[index] for index in order], "position", [along[index] for index in order]
    numbers = []
    for instance in instances:
        value = getattr(instance.dataset, "InstanceNumber", None)
        try:
            numbers.append(int(value))
        except (TypeError, ValueError):
            numbers.append(None)
    if any(n is None for n in numbers) or len(set(numbers)) != len(numbers):
        raise InvalidInput(
            f"{label}: its images can be ordered neither by ImagePositionPatient/ImageOrientationPatient nor by "
            "unique InstanceNumbers.",
            code="bad_series",
        )
    order = sorted(range(len(instances)), key=lambda index: numbers[index])
    return [instances[index] for index in order], "instance number", []


def _write_series(name: str, ordered: list[Instance], ordering: str, positions: list[float], directory: Path) -> Any:
    """The series file: every instance checked to decode to the series' size, then zipped in order."""
    import pydicom

    from backend.images.staging import StagedFile

    rows, columns = int(ordered[0].dataset.Rows), int(ordered[0].dataset.Columns)
    check_pixels(name, columns, rows, len(ordered))
    for instance in ordered:
        dataset = pydicom.dcmread(instance.staged.path)
        frame = _pixels(dataset, instance.name)
        if frame.shape[:2] != (rows, columns):
            raise InvalidInput(
                f"{instance.name}: its pixel data is {frame.shape[1]}×{frame.shape[0]}, not {columns}×{rows}.",
                code="bad_series",
            )
    members = [f"slices/{index:05d}.dcm" for index in range(len(ordered))]
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": 1,
        "slices": members,
        "rows": rows,
        "columns": columns,
        "ordered_by": ordering,
        "positions": positions,
    }
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".series.zip")
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w") as archive:
            archive.writestr(_entry(MANIFEST), json.dumps(manifest, indent=1).encode(), compresslevel=ZIP_LEVEL)
            for member, instance in zip(members, ordered, strict=True):
                with instance.staged.path.open("rb") as source, archive.open(_entry(member), "w") as target:
                    while chunk := source.read(CHUNK_BYTES):
                        target.write(chunk)
        digest, size = hashlib.sha256(), 0
        with open(temporary, "rb") as written:
            while chunk := written.read(CHUNK_BYTES):
                digest.update(chunk)
                size += len(chunk)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return StagedFile(name=name, path=Path(temporary), size=size, sha256=digest.hexdigest())


def _entry(name: str) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    entry.compress_type = zipfile.ZIP_DEFLATED
    entry._compresslevel = ZIP_LEVEL  # ZipFile.open has no compresslevel argument (Python 3.11)
    entry.external_attr = 0o644 << 16
    return entry


# ---- Reading a stored series ----


class DicomSeriesSource:
    """A stored series file. Opening it reads only the manifest (every rendering opens its source);
    ``info`` reads three instances' headers on first use (an upload)."""

    def __init__(self, path: Path, name: str, manifest: dict[str, Any]) -> None:
        self.path, self.name, self.manifest = path, name, manifest
        self.members: list[str] = manifest["slices"]

    def read_slice(self, index: int, bands: list[int] | None = None) -> np.ndarray:
        if not 0 <= index < len(self.members):
            raise InvalidInput(f"{self.name}: slice {index} does not exist.", code="bad_slice")
        dataset = _member(self.path, self.members[index])
        frame = _pixels(dataset, f"{self.name}, slice {index}")
        rows, columns = self.manifest["rows"], self.manifest["columns"]
        if frame.shape[:2] != (rows, columns):
            raise InvalidInput(f"{self.name}: slice {index} is not {columns}×{rows}.", code="bad_series")
        return chosen_bands(_rescaled(dataset, frame), bands)

    def dataset(self, index: int) -> Any:
        """The header of slice ``index`` (no pixels)."""
        return _member(self.path, self.members[index], pixels=False)

    @cached_property
    def info(self) -> SourceInfo:
        members = self.members
        first = self.dataset(0)
        last = self.dataset(len(members) - 1) if len(members) > 1 else first
        middle = self.dataset(len(members) // 2)
        if "Rows" not in first or "Columns" not in first:
            raise InvalidInput(f"{self.name}: a DICOM series without images (no Rows/Columns).", code="not_an_image")
        width, height = int(first.Columns), int(first.Rows)
        if (height, width) != (self.manifest["rows"], self.manifest["columns"]):
            raise InvalidInput(f"{self.name}: the series' instances are not the size it records.", code="bad_series")
        bands = int(getattr(first, "SamplesPerPixel", 1) or 1)
        presets = _presets(middle)
        monochrome1 = getattr(first, "PhotometricInterpretation", "") == "MONOCHROME1"
        if bands == 1 and presets:
            display: dict[str, Any] = {"mode": "window", "center": presets[0]["center"], "width": presets[0]["width"]}
        else:
            display = {"mode": "percentile", "low": 0.5, "high": 99.5}
        display |= {"bands": [0, 1, 2] if bands >= 3 else [0], "invert": monochrome1}
        meta = _attributes(first, [k for k in PUBLIC_KEYWORDS if k != "ImagePositionPatient"])
        meta |= series_geometry(first, last, len(members))
        meta["ordered_by"] = self.manifest.get("ordered_by", "position")
        meta |= _gaps(self.manifest.get("positions"))
        private = _attributes(first, [*IDENTIFYING_KEYWORDS, "StudyInstanceUID", "SeriesInstanceUID"])
        return SourceInfo(
            kind="dicom",
            format="DICOM",
            width=width,
            height=height,
            slices=len(members),
            bands=bands,
            sample_type="float32",
            presets=presets,
            display=display,
            meta=meta,
            private_meta=private,
        )


def _member(path: Path, member: str, *, pixels: bool = True) -> Any:
    import pydicom

    with zipfile.ZipFile(path) as archive:
        data = archive.read(member)
    try:
        return pydicom.dcmread(io.BytesIO(data), stop_before_pixels=not pixels)
    except Exception as exc:  # noqa: BLE001 - a damaged member
        raise InvalidInput(f"{member}: unreadable DICOM in the series ({exc}).", code="corrupt_image") from exc


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest of a series file, or None when ``path`` is not one."""
    with path.open("rb") as handle:
        if handle.read(4) != ZIP_SIGNATURE:
            return None
    try:
        with zipfile.ZipFile(path) as archive:
            if MANIFEST not in archive.namelist():
                return None
            info = archive.getinfo(MANIFEST)
            if info.file_size > 1 << 24:
                return None
            manifest = json.loads(archive.read(MANIFEST))
            names = set(archive.namelist())
            sizes = sum(archive.getinfo(member).file_size for member in names)
    except (zipfile.BadZipFile, ValueError, OSError, KeyError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        return None
    members = manifest.get("slices")
    if not isinstance(members, list) or not members or not all(isinstance(m, str) and m in names for m in members):
        raise InvalidInput(f"{path.name}: a DICOM series file whose slices are missing.", code="corrupt_image")
    manifest["unpacked_bytes"] = sizes
    return manifest


def open_dicom_series(path: Path, name: str) -> DicomSeriesSource | None:
    manifest = read_manifest(path)
    if manifest is None:
        return None
    from django.conf import settings

    if manifest["unpacked_bytes"] > settings.MAX_UPLOAD_BYTES:
        raise InvalidInput(f"{name}: the series unpacks to more than MAX_UPLOAD_BYTES.", code="image_too_large")
    rows, columns = manifest.get("rows"), manifest.get("columns")
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (rows, columns)):
        raise InvalidInput(f"{name}: a DICOM series file without its size.", code="corrupt_image")
    check_pixels(name, columns, rows, len(manifest["slices"]))
    return DicomSeriesSource(path, name, manifest)


def series_geometry(first: Any, last: Any, slices: int) -> dict[str, Any]:
    """``meta`` entries of the voxel grid: affine (voxel (column, row, slice) → RAS+ mm), spacing, shape,
    orientation codes, the screen's sides and layout. Without position or orientation, an affine of the
    spacing alone (``affine_from`` says which)."""
    columns, rows = int(first.Columns), int(first.Rows)
    spacing = _floats(first, "PixelSpacing", 2)
    row_spacing, column_spacing = (float(spacing[0]), float(spacing[1])) if spacing is not None else (1.0, 1.0)
    orientation = _floats(first, "ImageOrientationPatient", 6)
    start, end = _floats(first, "ImagePositionPatient", 3), _floats(last, "ImagePositionPatient", 3)
    thickness = _float(first, "SpacingBetweenSlices") or _float(first, "SliceThickness") or 1.0
    lps = np.eye(4)
    if orientation is not None and start is not None:
        along_row, along_column = orientation[:3], orientation[3:]
        normal = np.cross(along_row, along_column)
        step = (end - start) / (slices - 1) if slices > 1 and end is not None else normal * thickness
        lps[:3, 0] = along_row * column_spacing
        lps[:3, 1] = along_column * row_spacing
        lps[:3, 2] = step
        lps[:3, 3] = start
        source = "ImagePositionPatient, ImageOrientationPatient, PixelSpacing"
    else:
        lps[:3, :3] = np.diag([column_spacing, row_spacing, thickness])
        source = "PixelSpacing only (no position or orientation)"
    affine = LPS_TO_RAS @ lps
    codes = axis_codes(affine)
    return {
        "affine": affine_list(affine),
        "affine_from": source,
        "spacing": [column_spacing, row_spacing, float(np.linalg.norm(affine[:3, 2]))],
        "shape": [columns, rows, slices],
        "orientation": codes,
        "voxel_layout": voxel_layout("+j"),
        "sides": screen_sides(codes, reversed_rows=False),
    }


def _gaps(positions: Any) -> dict[str, Any]:
    """Whether the slices are evenly spaced (the affine's slice step is their mean gap: exact only then)."""
    if not isinstance(positions, list) or len(positions) < 3 or not all(isinstance(p, int | float) for p in positions):
        return {}
    gaps = np.diff(np.asarray(positions, dtype=np.float64))
    uniform = bool(np.abs(gaps - gaps.mean()).max() <= 0.01 * abs(gaps.mean()) + 1e-3)
    return {"uniform_spacing": uniform, "slice_gaps_mm": [float(gaps.min()), float(gaps.max())]}


def _float(dataset: Any, keyword: str) -> float | None:
    try:
        value = float(getattr(dataset, keyword))
    except (TypeError, ValueError, AttributeError):
        return None
    return value if np.isfinite(value) and value > 0 else None


def deidentified_series(path: Path) -> bytes:
    """The series file at ``path`` with every instance stripped of its identifying attributes and private tags
    (as :func:`backend.images.sources.dicom.deidentified` strips one file), as bytes of the same layout."""
    import pydicom

    out = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename != MANIFEST:
                dataset = pydicom.dcmread(io.BytesIO(data))
                for keyword in IDENTIFYING_KEYWORDS:
                    if keyword in dataset:
                        delattr(dataset, keyword)
                dataset.remove_private_tags()
                dataset.PatientIdentityRemoved = "YES"
                buffer = io.BytesIO()
                dataset.save_as(buffer, enforce_file_format=True)
                data = buffer.getvalue()
            target.writestr(_entry(info.filename), data, compresslevel=ZIP_LEVEL)
    return out.getvalue()


def is_series_file(path: Path) -> bool:
    try:
        return read_manifest(path) is not None
    except InvalidInput:
        return True
