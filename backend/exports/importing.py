"""Importing annotations read from a file (any format's reader) into a project's images as exact masks.

A reader yields :class:`ImportedAnnotation` s; :func:`import_annotations` matches their images by file name,
stores each mask exactly (an editable polygon derived from it), skips — and reports, per annotation, why — what
cannot be placed, and is idempotent by each annotation's key. A reader raises InvalidInput for a malformed file:
then nothing is imported (one transaction).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from backend.annotations.locking import lock_images, share_label
from backend.annotations.models import ObjectSource
from backend.annotations.services import object_create_from_mask
from backend.common.errors import InvalidInput, TooLarge
from backend.exports.contents import base_name
from backend.images.models import Image
from backend.projects.models import LabelClass, Project
from backend.projects.services import label_create
from ml.postprocess import mask_to_rle, rle_to_mask


@dataclass(frozen=True)
class ImportedAnnotation:
    key: str  # the object's client key: the same annotation imported again is found by it
    file_name: str  # the image's name in the file (matched to the project's images by base name)
    category: str
    mask: np.ndarray | None  # bool, in image pixels from the top-left (may be smaller than the image)
    skipped: str | None = None  # why it cannot be imported (then mask is None)
    name: str = ""  # how the report names it ("Annotation 7"); the key when empty


@dataclass
class ImportReport:
    created: int = 0
    already_imported: int = 0
    crowd_skipped: int = 0  # always 0: crowd regions are imported (kept until the API's schema drops it)
    labels_created: list[str] = field(default_factory=list)
    unmatched_images: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # [{annotation, reason}]


@dataclass(frozen=True)
class _Placed:
    key: str
    name: str
    category: str
    image: Image
    rle: dict  # the mask, compressed while the rest of the file is read


def check_import_size(size: int) -> None:
    """Refuse a document before it is read: parsing JSON holds several times its size in memory."""
    if size > settings.MAX_IMPORT_BYTES:
        raise TooLarge(
            f"The document is {size:,} bytes, above the import limit of {settings.MAX_IMPORT_BYTES:,} "
            "(MAX_IMPORT_BYTES); nothing was imported.",
            code="import_too_large",
        )


def image_id_in_export_name(file_name: str) -> tuple[str, int] | None:
    """``(original stem + suffix, id)`` of a name our export gave to an image whose name was taken: ``x_12.png``."""
    path = PurePosixPath(file_name)
    match = re.fullmatch(r"(.*)_(\d{1,18})", path.stem)
    return (match.group(1) + path.suffix, int(match.group(2))) if match else None


def _images_by_name(project: Project) -> tuple[dict[str, Image], dict[int, Image]]:
    images = list(Image.objects.filter(project=project))
    by_name: dict[str, Image] = {}
    for image in images:
        by_name.setdefault(base_name(image.original_name), image)
    return by_name, {image.pk: image for image in images}


def _match(file_name: str, by_name: dict[str, Image], by_id: dict[int, Image]) -> Image | None:
    name = base_name(file_name)
    if name in by_name:
        return by_name[name]
    exported = image_id_in_export_name(name)  # "x_12.png": the name our export gave image 12, "x.png"
    if exported and exported[1] in by_id and by_name.get(exported[0]) is not None:
        return by_id[exported[1]]
    return None


def _fitted(mask: np.ndarray, image: Image) -> np.ndarray | str:
    """The mask on the image's pixels, or why it does not fit."""
    height, width = image.height, image.width
    if mask.shape == (height, width):
        return mask
    if mask[height:, :].any() or mask[:, width:].any():
        return f"it lies outside the {width}×{height} image"
    fitted = np.zeros((height, width), dtype=bool)
    part = mask[:height, :width]
    fitted[: part.shape[0], : part.shape[1]] = part
    return fitted


def _labels(project: Project, wanted: dict[str, str], create: bool, report: ImportReport) -> dict[str, LabelClass]:
    """The project's labels by name, those ``wanted`` (name → the first annotation using it) created first."""
    labels = {label.name: label for label in project.labels.all()}
    for name, annotation in wanted.items():
        if name in labels:
            continue
        if not create:
            raise InvalidInput(
                f"The project has no label {name[:40]!r}; add it, or import with create_labels.",
                code="unknown_category",
            )
        try:
            labels[name] = label_create(project=project, name=name)
        except InvalidInput as exc:  # a name no label may have: too long, NUL…
            raise InvalidInput(
                f"{annotation}: its category's 'name' {name[:40]!r}: {exc.message}", code=exc.code, details=exc.details
            ) from exc
        report.labels_created.append(name)
    return labels


def _lock_in_order(labels: Iterable[LabelClass], images: Iterable[Image]) -> None:
    """Take every label, then every image, before the first object (the order of ``annotations.locking``): the
    import writes across many of both, and each create alone would lock a label after an image."""
    for label in sorted(labels, key=lambda label: label.pk):
        share_label(label.pk)
    lock_images(image.pk for image in images)


def _placed(annotations: Iterable[ImportedAnnotation], project: Project, report: ImportReport) -> list[_Placed]:
    """Every annotation that has an image and fits it; the others reported as skipped."""
    by_name, by_id = _images_by_name(project)
    unmatched: set[str] = set()
    placed = []
    for annotation in annotations:
        name = annotation.name or annotation.key
        image = None if annotation.mask is None else _match(annotation.file_name, by_name, by_id)
        if annotation.mask is None:
            reason = annotation.skipped or "it has no mask"
        elif image is None:
            unmatched.add(annotation.file_name)
            reason = f"the project has no image named {base_name(annotation.file_name)[:80]!r}"
        else:
            fitted = _fitted(annotation.mask, image)
            if not isinstance(fitted, str):
                placed.append(_Placed(annotation.key, name, annotation.category, image, mask_to_rle(fitted)))
                continue
            reason = fitted
        report.skipped.append({"annotation": name, "reason": reason})
    report.unmatched_images = sorted(unmatched)
    return placed


@transaction.atomic
def import_annotations(
    *,
    project: Project,
    author: AbstractBaseUser,
    annotations: Iterable[ImportedAnnotation],
    create_labels: bool = True,
) -> ImportReport:
    """Objects for the annotations on the project's images (matched by file name), each with the exact mask read.

    The whole file is read (and a malformed one refused) before the first write; labels are created, then all
    labels and all images locked, before the first object.
    """
    report = ImportReport()
    placed = _placed(annotations, project, report)
    wanted: dict[str, str] = {}
    for item in placed:
        wanted.setdefault(item.category, item.name)
    labels = _labels(project, wanted, create_labels, report)
    _lock_in_order([labels[name] for name in wanted], [item.image for item in placed])
    for item in placed:
        if item.image.annotation_objects.filter(client_key=item.key).exists():
            report.already_imported += 1
            continue
        try:
            object_create_from_mask(
                image=item.image,
                author=author,
                label_id=labels[item.category].pk,
                mask=rle_to_mask(item.rle),
                source=ObjectSource.IMPORTED,
                client_key=item.key,
            )
        except InvalidInput as exc:  # a mask too intricate to edit as polygons
            report.skipped.append({"annotation": item.name, "reason": exc.message})
            continue
        report.created += 1
    return report
