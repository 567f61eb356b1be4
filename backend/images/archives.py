"""Reading image files out of an uploaded zip to temporary files, refusing unsafe archives as a whole."""

import stat
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from django.conf import settings

from backend.common.errors import InvalidInput, TooLarge
from backend.images.staging import StagedFile, UploadBudget, stage

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".dcm", ".dicom", ".ima", ".nii"}
VOLUME_SUFFIXES = (".nii.gz",)
# zipfile bounds the output of each read only for these; a bzip2 or LZMA chunk may unpack to gigabytes at once.
READABLE_COMPRESSION = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflated"}
# zipfile parses the whole central directory into memory before we can count entries: bound its size first.
DIRECTORY_BYTES_PER_MEMBER = 512
# What the standard library raises on a malformed archive or entry.
UNREADABLE = (
    zipfile.BadZipFile,
    zlib.error,
    OSError,
    EOFError,
    ValueError,
    struct.error,
    NotImplementedError,
    KeyError,
)


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _is_unsafe_path(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or (len(name) > 1 and name[1] == ":")


def _is_image(info: zipfile.ZipInfo, archive: zipfile.ZipFile) -> bool:
    member = PurePosixPath(info.filename)
    if info.is_dir() or member.name.startswith(".") or member.name.upper() == "DICOMDIR":  # an index, no image
        return False
    name = member.name.lower()
    if member.suffix.lower() in IMAGE_SUFFIXES or name.endswith(VOLUME_SUFFIXES):
        return True
    return not member.suffix and _starts_as_dicom(info, archive)  # scanners name files IM0001, 1.2.840…


def _starts_as_dicom(info: zipfile.ZipInfo, archive: zipfile.ZipFile) -> bool:
    """Whether an entry without a suffix is a DICOM file ('DICM' after the 128-byte preamble)."""
    if info.file_size < 132 or info.flag_bits & 0x1 or info.compress_type not in READABLE_COMPRESSION:
        return False
    try:
        with archive.open(info) as member:
            return member.read(132)[128:] == b"DICM"
    except UNREADABLE:
        return False


def _check_directory_size(name: str, stream: BinaryIO) -> None:
    try:
        # zipfile's own reader of the end record (public since Python 2, private by name); None if there is none.
        end = zipfile._EndRecData(stream)
    except UNREADABLE as exc:
        raise InvalidInput(f"{name}: not a valid zip archive.", code="bad_zip") from exc
    if not end:
        raise InvalidInput(f"{name}: not a valid zip archive.", code="bad_zip")
    if end[zipfile._ECD_ENTRIES_TOTAL] > settings.MAX_ZIP_MEMBERS:
        raise InvalidInput(f"{name}: more than {settings.MAX_ZIP_MEMBERS} entries.", code="zip_too_many")
    if end[zipfile._ECD_SIZE] > settings.MAX_ZIP_MEMBERS * DIRECTORY_BYTES_PER_MEMBER:
        raise InvalidInput(
            f"{name}: its directory is {end[zipfile._ECD_SIZE]:,} bytes, more than "
            f"{settings.MAX_ZIP_MEMBERS} entries need.",
            code="zip_too_many",
        )


def _open(name: str, stream: BinaryIO) -> zipfile.ZipFile:
    _check_directory_size(name, stream)
    try:
        return zipfile.ZipFile(stream)
    except UNREADABLE as exc:
        raise InvalidInput(f"{name}: not a valid zip archive.", code="bad_zip") from exc


def _check_members(
    name: str, archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], budget: UploadBudget
) -> list[zipfile.ZipInfo]:
    """The image entries to read, once the archive as a whole is known to be safe."""
    if len(members) > settings.MAX_ZIP_MEMBERS:
        raise InvalidInput(f"{name}: more than {settings.MAX_ZIP_MEMBERS} entries.", code="zip_too_many")
    for info in members:
        if _is_unsafe_path(info.filename):
            raise InvalidInput(f"{name}: entry {info.filename!r} escapes the archive.", code="zip_path_traversal")
        if _is_symlink(info):
            raise InvalidInput(f"{name}: entry {info.filename!r} is a symbolic link.", code="zip_symlink")
    images = [info for info in members if _is_image(info, archive)]
    for info in images:
        if info.compress_type not in READABLE_COMPRESSION:
            raise InvalidInput(
                f"{name}: entry {info.filename!r} uses compression method {info.compress_type}; only stored or "
                "deflated entries are read (what zip tools write by default).",
                code="zip_compression",
            )
        if info.flag_bits & 0x1:
            raise InvalidInput(f"{name}: entry {info.filename!r} is encrypted.", code="zip_encrypted")
    declared = sum(info.file_size for info in images)
    if declared > budget.remaining:
        # Only a quick refusal: the budget counts the bytes really unpacked, whatever the archive declares.
        raise TooLarge(
            f"{name}: its images unpack to {declared:,} bytes, above what is left of the {budget.limit:,}-byte "
            "upload limit (MAX_UPLOAD_BYTES); nothing was stored.",
            code="upload_too_large",
        )
    return images


def stage_zip_images(*, name: str, stream: BinaryIO, directory: Path, budget: UploadBudget) -> list[StagedFile]:
    """Each image entry of the archive as a file in `directory` (named by its entry); other entries are ignored."""
    with _open(name, stream) as archive:
        images = _check_members(name, archive, archive.infolist(), budget)
        staged = []
        for info in images:
            try:
                with archive.open(info) as member:
                    staged.append(stage(name=info.filename, source=member, directory=directory, budget=budget))
            except UNREADABLE as exc:
                raise InvalidInput(f"{name}: entry {info.filename!r} is corrupt ({exc}).", code="bad_zip") from exc
        return staged
