"""COCO instance segmentation: one ``annotations/instances_default.json`` and the images under ``images/``.

Objects without holes are written as polygons (what most COCO tools edit); objects with holes as the stored
compressed RLE, which pycocotools reads for ``iscrowd: 0`` too, since COCO polygons cannot express a hole.
"""

from datetime import UTC, datetime
from typing import Any

from backend.annotations.models import AnnotationObject
from backend.exports.contents import ExportContents

ANNOTATIONS_PATH = "annotations/instances_default.json"
IMAGES_DIR = "images"


def _segmentation(obj: AnnotationObject) -> list[list[float]] | dict[str, Any]:
    if any(part["holes"] for part in obj.polygons):
        return {"size": obj.mask_rle["size"], "counts": obj.mask_rle["counts"]}
    return [[float(v) for point in part["outer"] for v in point] for part in obj.polygons]


def coco_document(contents: ExportContents) -> dict[str, Any]:
    project = contents.project
    return {
        "info": {
            "description": project.name,
            "version": "1.0",
            "date_created": datetime.now(UTC).isoformat(timespec="seconds"),
            "contributor": "EdgeFlow Studio",
        },
        "licenses": [],
        "categories": [
            {"id": contents.category_of(label.pk), "name": label.name, "supercategory": "", "color": label.color}
            for label in contents.labels
        ],
        "images": [
            {
                "id": exported.image.pk,
                "file_name": exported.file_name,
                "width": exported.image.width,
                "height": exported.image.height,
                "status": exported.image.status,
            }
            for exported in contents.images
        ],
        "annotations": [
            {
                "id": obj.pk,
                "image_id": exported.image.pk,
                "category_id": contents.category_of(obj.label_id),
                "segmentation": _segmentation(obj),
                "area": float(obj.area),
                "bbox": [float(v) for v in obj.bbox],
                "iscrowd": 0,
                "attributes": {"source": obj.source, "clicks_used": obj.clicks_used},
            }
            for exported in contents.images
            for obj in exported.objects
        ],
    }
