"""COCO instance segmentation: one ``annotations/instances_default.json`` and the images under ``images/``.

Geometry follows pycocotools (``coco_geometry``): an object is written as pixel-edge polygons traced from its
stored mask when pycocotools draws them back to that mask (IoU >= 0.999), otherwise — holes, anything the
outline cannot express — as the stored compressed RLE, which pycocotools reads for ``iscrowd: 0`` too. ``area``
and ``bbox`` are what pycocotools computes from the segmentation written.

Each object keeps that geometry as JSON text (``AnnotationObject.coco``, derived when its mask is written), so an
export reads it as text and splices it into the annotation without decoding a mask or parsing JSON; an object
without it (saved by a path that skipped the services) has it derived here.

:func:`coco_files` writes the JSON in chunks (the header, then one chunk per image chunk for the images array and
again for the annotations array), so no export holds the whole document.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from backend.annotations.models import AnnotationObject
from backend.exports.coco_geometry import coco_text
from backend.exports.contents import ExportContents

ANNOTATIONS_PATH = "annotations/instances_default.json"
IMAGES_DIR = "images"
ANNOTATION_FIELDS = ("id", "image_id", "slice", "label_id", "coco", "source", "clicks_used")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _header(contents: ExportContents) -> dict[str, Any]:
    return {
        "info": {
            "description": contents.project.name,
            "version": "1.0",
            "date_created": datetime.now(UTC).isoformat(timespec="seconds"),
            "contributor": "EdgeFlow Studio",
        },
        "licenses": [],
        "categories": [
            {"id": contents.category_of(label.pk), "name": label.name, "supercategory": "", "color": label.color}
            for label in contents.labels
        ],
    }


def _images(contents: ExportContents) -> Iterator[str]:
    for image, unit in contents.images.files():
        yield _dumps(
            {
                "id": unit.unit_id,
                "file_name": unit.file_name,
                "width": image.width,
                "height": image.height,
                "status": image.status,
            }
        )


def _geometry(object_id: int, coco: str) -> str:
    """The object's ``"segmentation":…,"area":…,"bbox":[…]`` members."""
    if not coco:
        coco = coco_text(AnnotationObject.objects.values_list("mask_rle", flat=True).get(pk=object_id))
    return coco[1:-1]


def _annotations(contents: ExportContents) -> Iterator[str]:
    """Each annotation's JSON, in image order then creation order (rows read as tuples, chunk by chunk)."""
    sources: dict[str, str] = {}
    for units in contents.images.unit_chunks():
        unit_of = {(unit.image_id, unit.slice): unit.unit_id for unit in units}
        rows = AnnotationObject.objects.filter(image_id__in=[u.image_id for u in units]).order_by("image_id", "id")
        for object_id, image_id, slice_index, label_id, coco, source, clicks_used in rows.values_list(
            *ANNOTATION_FIELDS
        ):
            unit_id = unit_of.get((image_id, None)) or unit_of.get((image_id, slice_index))
            if unit_id is None:
                continue  # on a slice that is not a unit of this chunk
            source_json = sources.get(source) or sources.setdefault(source, _dumps(source))
            yield (
                f'{{"id":{object_id},"image_id":{unit_id},"category_id":{contents.category_of(label_id)},'
                f'{_geometry(object_id, coco)},"iscrowd":0,'
                f'"attributes":{{"source":{source_json},"clicks_used":{clicks_used}}}}}'
            )


def _joined(items: Iterator[str], batch: int = 500) -> Iterator[bytes]:
    """Comma-separated items as byte chunks of up to ``batch`` items."""
    separator, pending = "", []
    for item in items:
        pending.append(item)
        if len(pending) == batch:
            yield (separator + ",".join(pending)).encode()
            separator, pending = ",", []
    if pending:
        yield (separator + ",".join(pending)).encode()


def _chunks(contents: ExportContents) -> Iterator[bytes]:
    yield _dumps(_header(contents))[:-1].encode() + b',"images":['
    yield from _joined(_images(contents))
    yield b'],"annotations":['
    yield from _joined(_annotations(contents))
    yield b"]}"


def coco_files(contents: ExportContents) -> Iterator[tuple[str, bytes | Iterator[bytes]]]:
    """The archive's entries besides the images: the instances JSON, as chunks of bytes."""
    yield ANNOTATIONS_PATH, _chunks(contents)


def coco_document(contents: ExportContents) -> dict[str, Any]:
    """The whole document as one dict (tests)."""
    return json.loads(b"".join(_chunks(contents)))
