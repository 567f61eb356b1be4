"""Volumes made in the tests: NIfTI files written by nibabel and DICOM series written by pydicom, and Image rows of
a stored source (made directly, as an upload of that file stores it)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from django.core.files.base import ContentFile
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

from backend.images.models import Image
from backend.images.sources import open_source
from backend.images.staging import StagedFile

# A rotated, sheared, anisotropic voxel grid: 0.8 × 0.9 × 2.5 mm, stored LAS-ish.
AFFINE = np.array(
    [
        [-0.8, 0.1, 0.0, 90.0],
        [0.05, 0.9, 0.3, -120.0],
        [0.0, -0.06, 2.5, -40.0],
        [0.0, 0.0, 0.0, 1.0],
    ]
)


def nifti_file(path: Path, data: np.ndarray, affine: np.ndarray = AFFINE, *, slope: float | None = None,
               inter: float = 0.0) -> nib.Nifti1Image:  # fmt: skip
    image = nib.Nifti1Image(data, affine)
    if slope is not None:
        image.header.set_slope_inter(slope, inter)
    nib.save(image, path)
    return nib.load(path)


def mr_volume(shape: tuple[int, int, int] = (40, 30, 7), seed: int = 0) -> np.ndarray:
    """Non-negative int16 values, every voxel's value distinct from its neighbours' (no CT look)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 3000, size=shape).astype(np.int16)


def staged(path: Path, name: str) -> StagedFile:
    data = path.read_bytes()
    return StagedFile(name=name, path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest())


def ct_instance(
    *,
    rows: int,
    columns: int,
    position: list[float],
    orientation: list[float],
    spacing: list[float],
    number: int,
    series_uid: str,
    pixels: np.ndarray,
    implicit: bool = False,
    slope: float = 1.0,
    intercept: float = -1024.0,
) -> Dataset:
    """One CT image instance, written as a file by :func:`write_instance`."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.SeriesInstanceUID = series_uid
    ds.Modality = "CT"
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "PID-12345"
    ds.PatientBirthDate = "19700101"
    ds.InstitutionName = "General Hospital"
    ds.SeriesNumber = 3
    ds.InstanceNumber = number
    ds.ImagePositionPatient = [f"{v:.6f}" for v in position]
    ds.ImageOrientationPatient = [f"{v:.6f}" for v in orientation]
    ds.PixelSpacing = [f"{v:.6f}" for v in spacing]
    ds.SliceThickness = "2.5"
    ds.Rows, ds.Columns = rows, columns
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    ds.RescaleSlope, ds.RescaleIntercept = f"{slope:g}", f"{intercept:g}"
    ds.PixelData = np.ascontiguousarray(pixels, dtype="<u2").tobytes()
    return ds


def write_instance(ds: Dataset, path: Path) -> Path:
    ds.save_as(path, enforce_file_format=True)
    return path


def stored_image(project, path: Path, name: str, *, uploaded_by=None) -> Image:
    """An Image row of the source in ``path`` with the fields an upload of it records (the upload path's own
    wiring of volumes is the lead's; this is what it stores)."""
    source = open_source(path, name)
    assert source is not None, name
    info = source.info
    data = path.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    image = Image(
        project=project,
        original_name=name,
        width=info.width,
        height=info.height,
        format=info.format,
        size_bytes=len(data),
        sha256=sha,
        uploaded_by=uploaded_by,
        kind=info.kind,
        slice_count=info.slices,
        band_count=info.bands,
        sample_type=info.sample_type,
        display=info.display,
        presets=info.presets,
        meta=info.meta,
        private_meta=info.private_meta,
    )
    image.file.save(f"{sha}.{info.kind}", ContentFile(data), save=False)
    image.save()
    return image


def read_dicom(path: Path) -> Dataset:
    return pydicom.dcmread(path)
