"""COCO instance segmentation: one ``annotations/instances_default.json`` and the images under ``images/``.

Geometry follows pycocotools (``coco_geometry``): an object is written as pixel-edge polygons traced from its
stored mask when pycocotools draws them back to that mask (IoU >= 0.999), otherwise — holes, anything the
outline cannot express — as the stored compressed RLE, which pycocotools reads for ``iscrowd: 0`` too. ``area``
and ``bbox`` are what pycocotools computes from the segmentation written.

:func:`coco_files` writes the JSON in chunks (the header, then one chunk per image for the images array and again
for the annotations array), so no export holds the whole document.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from backend.annotations.models import AnnotationObject
from backend.exports.coco_geometry import exported_segmentation
from backend.exports.contents import ExportContents, ExportedImage

ANNOTATIONS_PATH = "annotations/instances_default.json"
IMAGES_DIR = "images"


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def coco_annotation(obj: AnnotationObject, image_id: int, category_id: int) -> dict[str, Any]:
    segmentation, area, bbox = exported_segmentation(obj.mask_rle)
    return {
        "id": obj.pk,
        "image_id": image_id,
        "category_id": category_id,
        "segmentation": segmentation,
        "area": area,
        "bbox": bbox,
        "iscrowd": 0,
        "attributes": {"source": obj.source, "clicks_used": obj.clicks_used},
    }


def _image(exported: ExportedImage) -> dict[str, Any]:
    return {
        "id": exported.image.pk,
        "file_name": exported.file_name,
        "width": exported.image.width,
        "height": exported.image.height,
        "status": exported.image.status,
    }


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


def _annotations(contents: ExportContents, exported: ExportedImage) -> list[dict[str, Any]]:
    return [coco_annotation(obj, exported.image.pk, contents.category_of(obj.label_id)) for obj in exported.objects]


def _chunks(contents: ExportContents) -> Iterator[bytes]:
    yield _dumps(_header(contents))[:-1].encode() + b',"images":['
    separator = b""
    for exported in contents.images:
        yield separator + _dumps(_image(exported)).encode()
        separator = b","
    yield b'],"annotations":['
    separator = b""
    for exported in contents.images:
        annotations = _annotations(contents, exported)
        if annotations:
            yield separator + ",".join(_dumps(annotation) for annotation in annotations).encode()
            separator = b","
    yield b"]}"


def coco_files(contents: ExportContents) -> Iterator[tuple[str, bytes | Iterator[bytes]]]:
    """The archive's entries besides the images: the instances JSON, as chunks of bytes."""
    yield ANNOTATIONS_PATH, _chunks(contents)


def coco_document(contents: ExportContents) -> dict[str, Any]:
    """The whole document as one dict (for callers not streaming yet: the archive until it writes chunks)."""
    return json.loads(b"".join(_chunks(contents)))
