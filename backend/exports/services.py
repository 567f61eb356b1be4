"""The COCO import as one call, kept for callers not yet using ``importing.import_annotations`` with a reader."""

from django.contrib.auth.models import AbstractBaseUser

from backend.exports.coco_reading import coco_reader
from backend.exports.importing import ImportReport, check_import_size, import_annotations
from backend.projects.models import Project

__all__ = ["ImportReport", "check_import_size", "coco_import"]


def coco_import(*, project: Project, data: bytes, author: AbstractBaseUser, create_labels: bool = True) -> ImportReport:
    """``import_annotations`` of ``coco_reader(data)``."""
    return import_annotations(
        project=project, author=author, annotations=coco_reader(data), create_labels=create_labels
    )
