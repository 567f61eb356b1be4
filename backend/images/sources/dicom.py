"""DICOM files: single images and multi-frame objects (each frame a slice), compressed or not.

Samples are the stored values after the Modality LUT's rescale (slope/intercept), so CT is in Hounsfield units and
a window/level means what radiologists expect. Window presets come from the file's own Window Center/Width tags
(0028,1050/1051) and, for CT, the usual lung, soft-tissue, bone and brain windows.

Patient-identifying attributes (PS3.15's basic profile, roughly: the patient module, names of people,
institutions, dates and identifiers, and every private tag) are kept apart in ``private_meta``; nothing here
shows them, and :func:`deidentified` writes a copy without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.multival import MultiValue

from backend.common.errors import InvalidInput
from backend.images.sources import SourceInfo, chosen_bands
from backend.images.sources.limits import check_pixels

CT_PRESETS = [
    {"name": "Soft tissue", "center": 50.0, "width": 400.0},
    {"name": "Lung", "center": -600.0, "width": 1500.0},
    {"name": "Bone", "center": 400.0, "width": 1800.0},
    {"name": "Brain", "center": 40.0, "width": 80.0},
]

IDENTIFYING_KEYWORDS = [
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientBirthTime",
    "PatientSex",
    "PatientAge",
    "PatientAddress",
    "PatientWeight",
    "PatientSize",
    "PatientTelephoneNumbers",
    "PatientMotherBirthName",
    "OtherPatientIDs",
    "OtherPatientIDsSequence",
    "OtherPatientNames",
    "EthnicGroup",
    "PatientComments",
    "IssuerOfPatientID",
    "MilitaryRank",
    "BranchOfService",
    "MedicalRecordLocator",
    "PatientInsurancePlanCodeSequence",
    "CountryOfResidence",
    "RegionOfResidence",
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionalDepartmentName",
    "ReferringPhysicianName",
    "ReferringPhysicianAddress",
    "ReferringPhysicianTelephoneNumbers",
    "PerformingPhysicianName",
    "NameOfPhysiciansReadingStudy",
    "PhysiciansOfRecord",
    "OperatorsName",
    "RequestingPhysician",
    "ScheduledPerformingPhysicianName",
    "AccessionNumber",
    "StudyID",
    "StudyDate",
    "StudyTime",
    "SeriesDate",
    "SeriesTime",
    "AcquisitionDate",
    "AcquisitionTime",
    "ContentDate",
    "ContentTime",
    "AcquisitionDateTime",
    "InstanceCreationDate",
    "InstanceCreationTime",
    "StationName",
    "DeviceSerialNumber",
    "RequestAttributesSequence",
    "AdmittingDiagnosesDescription",
    "AdditionalPatientHistory",
    "Occupation",
    "StudyDescription",
    "SeriesDescription",
    "PerformedProcedureStepDescription",
    "ProtocolName",
    "ImageComments",
]

PUBLIC_KEYWORDS = [
    "Modality",
    "BodyPartExamined",
    "PixelSpacing",
    "SliceThickness",
    "SpacingBetweenSlices",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "PhotometricInterpretation",
    "BitsStored",
    "Manufacturer",
]


@dataclass
class DicomSource:
    info: SourceInfo
    path: Path

    def read_slice(self, index: int, bands: list[int] | None = None) -> np.ndarray:
        import pydicom

        dataset = pydicom.dcmread(self.path, stop_before_pixels=True)
        frame = _frame(self.path, dataset, index if self.info.slices > 1 else None)
        return chosen_bands(_rescaled(dataset, frame), bands)


def is_dicom(path: Path) -> bool:
    with path.open("rb") as handle:
        handle.seek(128)
        return handle.read(4) == b"DICM"


def open_dicom(path: Path, name: str) -> DicomSource | None:
    if not is_dicom(path):
        return None
    import pydicom

    try:
        dataset = pydicom.dcmread(path, stop_before_pixels=True)
    except Exception as exc:  # noqa: BLE001 - a damaged header is bad input
        raise InvalidInput(f"{name}: unreadable DICOM header ({exc}).", code="not_an_image") from exc
    if "Rows" not in dataset or "Columns" not in dataset:
        raise InvalidInput(f"{name}: a DICOM file without an image (no Rows/Columns).", code="not_an_image")
    width, height = int(dataset.Columns), int(dataset.Rows)
    slices = int(getattr(dataset, "NumberOfFrames", 1) or 1)
    bands = int(getattr(dataset, "SamplesPerPixel", 1) or 1)
    check_pixels(name, width, height, slices)
    presets = _presets(dataset)
    monochrome1 = getattr(dataset, "PhotometricInterpretation", "") == "MONOCHROME1"
    if bands == 1 and presets:
        first = presets[0]
        display: dict[str, Any] = {"mode": "window", "center": first["center"], "width": first["width"]}
    else:
        display = {"mode": "percentile", "low": 0.5, "high": 99.5}
    display |= {"bands": [0, 1, 2] if bands >= 3 else [0], "invert": monochrome1}
    info = SourceInfo(
        kind="dicom",
        format="DICOM",
        width=width,
        height=height,
        slices=slices,
        bands=bands,
        sample_type="float32",
        presets=presets,
        display=display,
        meta=_attributes(dataset, PUBLIC_KEYWORDS),
        private_meta=_attributes(dataset, IDENTIFYING_KEYWORDS),
    )
    source = DicomSource(info, path)
    source.read_slice(0)  # the pixel data decodes (a truncated or undecodable file is refused at upload)
    return source


def _frame(path: Path, dataset: Any, index: int | None) -> np.ndarray:
    """Frame ``index`` of a multi-frame file (only that frame decoded), or the single image (``None``)."""
    from pydicom.pixels import pixel_array

    try:
        return pixel_array(str(path), index=index)
    except Exception as exc:  # noqa: BLE001 - missing codec, truncated data…
        raise _undecodable(path.name, dataset, exc) from exc


def _pixels(dataset: Any, name: str) -> np.ndarray:
    try:
        return dataset.pixel_array
    except Exception as exc:  # noqa: BLE001 - missing codec, truncated data…
        raise _undecodable(name, dataset, exc) from exc


def _undecodable(name: str, dataset: Any, exc: Exception) -> InvalidInput:
    syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
    return InvalidInput(
        f"{name}: the DICOM pixel data cannot be decoded ({syntax.name if syntax else 'unknown syntax'}: {exc}).",
        code="corrupt_image",
    )


def _rescaled(dataset: Any, frame: np.ndarray) -> np.ndarray:
    slope = float(getattr(dataset, "RescaleSlope", 1) or 1)
    intercept = float(getattr(dataset, "RescaleIntercept", 0) or 0)
    return (frame.astype(np.float32) * slope + intercept).astype(np.float32)


def _presets(dataset: Any) -> list[dict[str, Any]]:
    presets = []
    centers, widths = _values(dataset, "WindowCenter"), _values(dataset, "WindowWidth")
    explanations = _values(dataset, "WindowCenterWidthExplanation")
    for index, (center, width) in enumerate(zip(centers, widths, strict=False)):
        if width > 0:
            name = str(explanations[index]) if index < len(explanations) else f"File window {index + 1}"
            presets.append({"name": name or f"File window {index + 1}", "center": float(center), "width": float(width)})
    if getattr(dataset, "Modality", "") == "CT":
        presets.extend(CT_PRESETS)
    return presets


def _values(dataset: Any, keyword: str) -> list:
    value = getattr(dataset, keyword, None)
    if value is None or value == "":
        return []
    values = list(value) if isinstance(value, (list, tuple, MultiValue)) else [value]
    cleaned = []
    for item in values:
        try:
            cleaned.append(float(item) if keyword != "WindowCenterWidthExplanation" else str(item))
        except (TypeError, ValueError):
            continue
    return cleaned


def _attributes(dataset: Any, keywords: list[str]) -> dict[str, Any]:
    found = {}
    for keyword in keywords:
        if keyword in dataset:
            value = dataset.data_element(keyword).value
            many = isinstance(value, (list, tuple, MultiValue))
            found[keyword] = [str(v) for v in value] if many else str(value)
    return found


def deidentified(path: Path) -> bytes:
    """The DICOM file at ``path`` without its identifying attributes and private tags, as bytes."""
    import io

    import pydicom

    dataset = pydicom.dcmread(path)
    for keyword in IDENTIFYING_KEYWORDS:
        if keyword in dataset:
            delattr(dataset, keyword)
    dataset.remove_private_tags()
    dataset.PatientIdentityRemoved = "YES"
    out = io.BytesIO()
    dataset.save_as(out, enforce_file_format=True)
    return out.getvalue()
