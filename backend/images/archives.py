"""Reading image files out of an uploaded zip, refusing unsafe archives as a whole."""

import stat
import zipfile
from pathlib import PurePosixPath
from typing import BinaryIO

from django.conf import settings

from backend.common.errors import InvalidInput

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif"}


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _is_unsafe_path(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return path.is_absolute() or ".." in path.parts or (len(name) > 1 and name[1] == ":")


def read_zip_images(*, name: str, stream: BinaryIO) -> list[tuple[str, bytes]]:
    """(member name, bytes) for each image in the archive; other files are ignored."""
    try:
        archive = zipfile.ZipFile(stream)
    except zipfile.BadZipFile as exc:
        raise InvalidInput(f"{name}: not a valid zip archive.", code="bad_zip") from exc
    with archive:
        members = archive.infolist()
        if len(members) > settings.MAX_ZIP_MEMBERS:
            raise InvalidInput(f"{name}: more than {settings.MAX_ZIP_MEMBERS} entries.", code="zip_too_many")
        for info in members:
            if _is_unsafe_path(info.filename):
                raise InvalidInput(f"{name}: entry {info.filename!r} escapes the archive.", code="zip_path_traversal")
            if _is_symlink(info):
                raise InvalidInput(f"{name}: entry {info.filename!r} is a symbolic link.", code="zip_symlink")
        total = sum(info.file_size for info in members)
        if total > settings.MAX_UPLOAD_BYTES:
            raise InvalidInput(f"{name}: unpacks to {total:,} bytes, above the upload limit.", code="zip_too_large")
        images = []
        for info in members:
            member = PurePosixPath(info.filename)
            if info.is_dir() or member.name.startswith(".") or member.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            try:
                images.append((info.filename, archive.read(info)))
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise InvalidInput(f"{name}: entry {info.filename!r} is corrupt ({exc}).", code="bad_zip") from exc
        return images
