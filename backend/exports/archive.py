"""Building an export archive (a zip file on disk) in one of the supported formats."""

import json
import tempfile
import time
import zipfile
from enum import StrEnum
from typing import IO

from backend.exports.coco import ANNOTATIONS_PATH, IMAGES_DIR, coco_document
from backend.exports.contents import ExportContents
from backend.exports.image_files import upright_bytes
from backend.exports.voc import voc_files


class ExportFormat(StrEnum):
    COCO = "coco"
    VOC = "voc"


IMAGE_FOLDERS = {ExportFormat.COCO: IMAGES_DIR, ExportFormat.VOC: "JPEGImages"}


def _add_images(archive: zipfile.ZipFile, contents: ExportContents, folder: str) -> None:
    for exported in contents.images:
        entry = zipfile.ZipInfo(f"{folder}/{exported.file_name}", date_time=time.localtime()[:6])
        entry.compress_type = zipfile.ZIP_STORED  # image formats are compressed already
        if (upright := upright_bytes(exported.image)) is not None:
            archive.writestr(entry, upright)  # EXIF-rotated: the pixels the annotator saw, for any reader
            continue
        with exported.image.file.open("rb") as source, archive.open(entry, "w") as target:
            while chunk := source.read(1 << 20):
                target.write(chunk)


def build_archive(contents: ExportContents, *, fmt: ExportFormat, include_images: bool) -> IO[bytes]:
    """A temporary file (deleted when closed) holding the zip, positioned at its start."""
    spool = tempfile.TemporaryFile(suffix=".zip")  # noqa: SIM115 - returned open, for the response to stream
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if fmt == ExportFormat.COCO:
            archive.writestr(ANNOTATIONS_PATH, json.dumps(coco_document(contents), separators=(",", ":")))
        else:
            for path, data in voc_files(contents):
                archive.writestr(path, data)
        # The images folder is written even when empty or without images: readers (Datumaro) require it.
        archive.writestr(zipfile.ZipInfo(f"{IMAGE_FOLDERS[fmt]}/", date_time=time.localtime()[:6]), b"")
        if include_images:
            _add_images(archive, contents, IMAGE_FOLDERS[fmt])
    spool.seek(0)
    return spool
