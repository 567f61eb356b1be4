"""Reading a COCO instance document someone uploads: checked shape, every problem a clear InvalidInput."""

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

from backend.common.errors import InvalidInput
from ml.postprocess import mask_to_polygons

Polygons = list[dict[str, Any]]


@dataclass(frozen=True)
class CocoAnnotation:
    annotation_id: Any
    file_name: str
    category: str
    segmentation: Any  # a list of flat polygons, or an RLE dict
    iscrowd: bool


def _list_of_objects(document: dict, key: str) -> list[dict]:
    value = document.get(key)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InvalidInput(f"A COCO document has a list of objects under {key!r}.", code="bad_coco")
    return value


def coco_annotations(document: Any) -> list[CocoAnnotation]:
    """The document's annotations with their image's file name and their category's name."""
    if not isinstance(document, dict):
        raise InvalidInput("A COCO document is a JSON object.", code="bad_coco")
    images = {image.get("id"): image for image in _list_of_objects(document, "images")}
    categories = {category.get("id"): category.get("name") for category in _list_of_objects(document, "categories")}
    found = []
    for annotation in _list_of_objects(document, "annotations"):
        image = images.get(annotation.get("image_id"))
        category = categories.get(annotation.get("category_id"))
        where = f"Annotation {str(annotation.get('id'))[:40]}"
        if image is None or not isinstance(image.get("file_name"), str):
            raise InvalidInput(f"{where} refers to no image with a file_name.", code="bad_coco")
        if not isinstance(category, str) or not category.strip():
            raise InvalidInput(f"{where} refers to no named category.", code="bad_coco")
        found.append(
            CocoAnnotation(
                annotation_id=annotation.get("id"),
                file_name=image["file_name"],
                category=category.strip(),
                segmentation=annotation.get("segmentation"),
                iscrowd=bool(annotation.get("iscrowd")),
            )
        )
    return found


def polygons_of(annotation: CocoAnnotation, width: int, height: int) -> Polygons:
    """The annotation's shape as the project's polygons (outer rings, and holes where an RLE has them)."""
    where = f"Annotation {str(annotation.annotation_id)[:40]}"
    segmentation = annotation.segmentation
    if isinstance(segmentation, list) and segmentation and all(isinstance(ring, list) for ring in segmentation):
        polygons = []
        for ring in segmentation:
            if len(ring) < 6 or len(ring) % 2:
                raise InvalidInput(f"{where}: a polygon is a flat list of at least 3 x, y pairs.", code="bad_coco")
            polygons.append({"outer": [[ring[i], ring[i + 1]] for i in range(0, len(ring), 2)], "holes": []})
        return polygons
    if isinstance(segmentation, dict) and "counts" in segmentation and "size" in segmentation:
        if list(segmentation["size"]) != [height, width]:
            raise InvalidInput(f"{where}: its mask is not the size of the image ({width}×{height}).", code="bad_coco")
        try:
            rle = segmentation
            if isinstance(rle["counts"], list):
                rle = coco_mask.frPyObjects(rle, height, width)
            elif isinstance(rle["counts"], str):
                rle = {"size": [height, width], "counts": rle["counts"].encode()}
            mask = coco_mask.decode(rle)
        except (TypeError, ValueError, KeyError) as exc:
            raise InvalidInput(f"{where}: its RLE mask cannot be read ({exc}).", code="bad_coco") from exc
        polygons = mask_to_polygons(np.asarray(mask, dtype=bool))
        if not polygons:
            raise InvalidInput(f"{where}: its mask is empty.", code="bad_coco")
        return polygons
    raise InvalidInput(f"{where}: 'segmentation' is a list of polygons or an RLE mask.", code="bad_coco")


def image_id_in_export_name(file_name: str) -> tuple[str, int] | None:
    """``(original stem + suffix, id)`` of a name our export gave to an image whose name was taken: ``x_12.png``."""
    path = PurePosixPath(file_name)
    match = re.fullmatch(r"(.*)_(\d{1,18})", path.stem)
    return (match.group(1) + path.suffix, int(match.group(2))) if match else None
