"""Writing an export archive: a zip file on disk, entry by entry, in one of the registered formats.

The format's entries (``Format.files``) are written as they are yielded — a value that is an iterator of byte
chunks is streamed into its zip entry — then the image files are copied one at a time. Nothing holds the whole
archive, nor a whole document, in memory. The zip is written next to its destination and renamed into place
once complete, so a file at the destination is always a whole archive.
"""

import json
import os
import shutil
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from backend.exports.contents import ExportContents
from backend.exports.formats import Entry, Format
from backend.exports.image_files import deidentified_dicom, upright_bytes
from backend.images.renderings import rendering_of

COMPRESS_LEVEL = 1  # JSON, XML and text shrink almost as much as at level 6, several times faster
STORED_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".gz"}  # compressed already
PATIENT_DATA_PATH = "patient_data.json"  # only when a manager opted in


def _entry(path: str) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(path, date_time=time.localtime()[:6])
    stored = PurePosixPath(path).suffix.lower() in STORED_SUFFIXES
    entry.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    entry.external_attr = 0o644 << 16
    return entry


def _write(archive: zipfile.ZipFile, path: str, data: bytes | Iterator[bytes]) -> None:
    entry = _entry(path)
    if isinstance(data, bytes | bytearray):
        archive.writestr(entry, data, compresslevel=COMPRESS_LEVEL)
        return
    entry._compresslevel = COMPRESS_LEVEL  # ZipFile.open has no compresslevel argument (Python 3.11)
    with archive.open(entry, "w", force_zip64=True) as target:  # its size is unknown until written
        for chunk in data:
            target.write(chunk)


def _add_images(
    archive: zipfile.ZipFile, contents: ExportContents, folder: str, *, source_files: bool, patient_data: bool
) -> None:
    for image, unit in contents.images.files():
        entry = _entry(f"{folder}/{unit.file_name}")
        entry.compress_type = zipfile.ZIP_STORED  # image formats are compressed already
        if image.is_source and not source_files:  # what the annotator saw: the slice's 8-bit rendering
            with rendering_of(image, unit.slice or 0).path.open("rb") as source, archive.open(entry, "w") as target:
                shutil.copyfileobj(source, target, 1 << 20)
            continue
        if image.kind == "dicom" and not patient_data:  # as stored, less its patient-identifying attributes
            archive.writestr(entry, deidentified_dicom(image))
            continue
        if image.is_source:
            with image.file.open("rb") as source, archive.open(entry, "w", force_zip64=True) as target:
                shutil.copyfileobj(source, target, 1 << 20)
            continue
        if (upright := upright_bytes(image)) is not None:
            archive.writestr(entry, upright)  # EXIF-rotated: the pixels the annotator saw, for any reader
            continue
        with image.file.open("rb") as source, archive.open(entry, "w") as target:
            while chunk := source.read(1 << 20):
                target.write(chunk)


def write_entries(
    archive: zipfile.ZipFile, contents: ExportContents, fmt: Format, *, include_images: bool, patient_data: bool = False
) -> None:
    entries: Iterator[Entry] = fmt.files(contents)
    for path, data in entries:
        _write(archive, path, data)
    if patient_data:
        _write(archive, PATIENT_DATA_PATH, _patient_data(contents))
    if fmt.images_folder is None:
        return
    # The images folder is written even when empty or without images: readers (Datumaro) require it.
    archive.writestr(zipfile.ZipInfo(f"{fmt.images_folder}/", date_time=time.localtime()[:6]), b"")
    if include_images:
        _add_images(archive, contents, fmt.images_folder, source_files=fmt.source_images, patient_data=patient_data)


def _patient_data(contents: ExportContents) -> bytes:
    """{file name: the image's patient-identifying DICOM attributes} of the images that have any."""
    found = {unit.file_name: image.private_meta for image, unit in contents.images.files() if image.private_meta}
    return json.dumps(found, ensure_ascii=False, indent=1).encode()


def write_archive(
    contents: ExportContents, fmt: Format, *, include_images: bool, destination: Path, patient_data: bool = False
) -> int:
    """Write the zip to ``destination`` (replacing it when complete); its size in bytes. Patient-identifying DICOM
    attributes go in only with ``patient_data`` (a manager opted in)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as archive:
            write_entries(archive, contents, fmt, include_images=include_images, patient_data=patient_data)
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    return destination.stat().st_size
