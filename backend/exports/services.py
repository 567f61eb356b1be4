"""Importing annotations from a COCO instance document into a project: all of it, or nothing."""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from backend.annotations.locking import lock_images, share_label
from backend.annotations.models import ObjectSource
from backend.annotations.services import object_create
from backend.common.errors import InvalidInput, TooLarge
from backend.exports.coco_reading import (
    CocoAnnotation,
    annotation_key,
    coco_annotations,
    image_id_in_export_name,
    polygons_of,
    shown,
)
from backend.exports.contents import base_name
from backend.images.models import Image
from backend.projects.models import LabelClass, Project
from backend.projects.services import label_create


@dataclass
class ImportReport:
    created: int = 0
    already_imported: int = 0
    crowd_skipped: int = 0
    labels_created: list[str] = field(default_factory=list)
    unmatched_images: list[str] = field(default_factory=list)


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


def _label(
    annotation: CocoAnnotation, project: Project, labels: dict[str, LabelClass], create: bool, report: ImportReport
) -> LabelClass:
    name = annotation.category
    if name not in labels:
        if not create:
            raise InvalidInput(
                f"The project has no label {shown(name)!r}; add it, or import with create_labels.",
                code="unknown_category",
            )
        try:
            labels[name] = label_create(project=project, name=name)
        except InvalidInput as exc:  # a name no label may have: too long, NUL…
            raise InvalidInput(
                f"Annotation {shown(annotation.annotation_id)}: its category's 'name' {shown(name)!r}: {exc.message}",
                code=exc.code,
                details=exc.details,
            ) from exc
        report.labels_created.append(name)
    return labels[name]


def _lock_in_order(labels: Iterable[LabelClass], images: Iterable[Image | None]) -> None:
    """Take every label, then every image, before the first object (the order of ``annotations.locking``): the
    import writes across many of both, and each create alone would lock a label after an image."""
    for label in sorted(labels, key=lambda label: label.pk):
        share_label(label.pk)
    lock_images(image.pk for image in images if image is not None)


def check_import_size(size: int) -> None:
    """Refuse a document before it is read: parsing JSON holds several times its size in memory."""
    if size > settings.MAX_IMPORT_BYTES:
        raise TooLarge(
            f"The document is {size:,} bytes, above the import limit of {settings.MAX_IMPORT_BYTES:,} "
            "(MAX_IMPORT_BYTES); nothing was imported.",
            code="import_too_large",
        )


@transaction.atomic
def coco_import(*, project: Project, data: bytes, author: AbstractBaseUser, create_labels: bool = True) -> ImportReport:
    """Objects for the document's annotations on the project's images (matched by file name).

    Each object remembers the annotation it came from (its client key), so importing the same file again adds
    nothing twice. Crowd regions are skipped; annotations of images not in the project are reported.
    """
    check_import_size(len(data))
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:  # also integers of over 4300 digits, and arrays nested too deep
        raise InvalidInput(f"The file is not JSON we can read: {str(exc)[:200]}.", code="bad_json") from exc
    annotations = coco_annotations(document)
    digest = hashlib.sha256(data).hexdigest()[:16]
    by_name, by_id = _images_by_name(project)
    labels = {label.name: label for label in project.labels.all()}
    _lock_in_order(labels.values(), [_match(a.file_name, by_name, by_id) for a in annotations])
    report = ImportReport()
    unmatched: set[str] = set()
    for annotation in annotations:
        if annotation.iscrowd:
            report.crowd_skipped += 1
            continue
        image = _match(annotation.file_name, by_name, by_id)
        if image is None:
            unmatched.add(annotation.file_name)
            continue
        label = _label(annotation, project, labels, create_labels, report)
        key = f"coco-{digest}-{annotation_key(annotation.annotation_id)}"
        if image.annotation_objects.filter(client_key=key).exists():
            report.already_imported += 1
            continue
        polygons = polygons_of(annotation, image.width, image.height)
        try:
            object_create(
                image=image,
                author=author,
                label_id=label.pk,
                polygons=polygons,
                source=ObjectSource.IMPORTED,
                client_key=key,
            )
        except InvalidInput as exc:
            raise InvalidInput(
                f"Annotation {shown(annotation.annotation_id)} on {image.original_name}: {exc.message}",
                code=exc.code,
                details=exc.details,
            ) from exc
        report.created += 1
    report.unmatched_images = sorted(unmatched)
    return report
