"""Reading a COCO instance document someone uploads (:func:`coco_reader`): the annotations with their masks.

A malformed document (no JSON, missing lists or ids, run lengths that are no run lengths…) is one clear
InvalidInput, and nothing is imported. Legal COCO is read as pycocotools reads it: polygons are rasterised by
pycocotools (pixel-edge outlines, ``coco_geometry``), RLE masks are kept exactly (``iscrowd`` ones too), a
box-only annotation (``segmentation`` empty or missing) is its ``bbox``. An annotation whose geometry cannot be
placed on its image is yielded with the reason it is skipped.
"""

import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.conf import settings
from pycocotools import mask as coco_mask

from backend.annotations.geometry import check_counts
from backend.common.errors import InvalidInput
from backend.exports.coco_geometry import coco_polygons_to_mask
from backend.exports.importing import ImportedAnnotation, check_import_size
from backend.exports.stored_crops import rle_runs as _runs_of_string


@dataclass(frozen=True)
class CocoAnnotation:
    annotation_id: Any
    file_name: str
    category: str
    segmentation: Any  # a list of flat polygons, or an RLE dict; [] or None: box-only
    bbox: Any
    size: tuple[int, int] | None  # the image's (height, width) when the document gives it


def shown(value: Any, limit: int = 40) -> str:
    """``str(value)[:limit]`` as quoted in a message: printable even when the document's text is no valid Unicode."""
    try:
        text = str(value)[:limit]
    except RecursionError:
        text = f"<deeply nested {type(value).__name__}>"
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def annotation_key(annotation_id: Any) -> str:
    """The annotation's part of an imported object's client key: ``str(id)[:30]``, made storable as text."""
    return shown(annotation_id, 30).replace("\x00", "\\x00")[:30]


def _list_of_objects(document: dict, key: str) -> list[dict]:
    value = document.get(key)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise InvalidInput(f"A COCO document has a list of objects under {key!r}.", code="bad_coco")
    return value


def _key(value: Any, where: str, field: str) -> Any:
    """An id to look things up by: JSON lists and objects are no ids (and cannot be dictionary keys)."""
    if isinstance(value, (list, dict)):
        kind = "a list" if isinstance(value, list) else "an object"
        raise InvalidInput(f"{where}: its {field!r} is {kind}, not a number or a string.", code="bad_coco")
    return value


def _valid_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" in the JSON)
        return False
    return True


def coco_annotations(document: Any) -> list[CocoAnnotation]:
    """The document's annotations with their image's file name and their category's name."""
    if not isinstance(document, dict):
        raise InvalidInput("A COCO document is a JSON object.", code="bad_coco")
    images = {
        _key(image.get("id"), f"Image {i} of 'images'", "id"): image
        for i, image in enumerate(_list_of_objects(document, "images"))
    }
    categories = {
        _key(category.get("id"), f"Category {i} of 'categories'", "id"): category.get("name")
        for i, category in enumerate(_list_of_objects(document, "categories"))
    }
    found = []
    for annotation in _list_of_objects(document, "annotations"):
        where = f"Annotation {shown(annotation.get('id'))}"
        image = images.get(_key(annotation.get("image_id"), where, "image_id"))
        category = categories.get(_key(annotation.get("category_id"), where, "category_id"))
        if image is None or not isinstance(image.get("file_name"), str):
            raise InvalidInput(f"{where} refers to no image with a file_name.", code="bad_coco")
        if not _valid_unicode(image["file_name"]):
            raise InvalidInput(f"{where}: its image's 'file_name' is not valid Unicode.", code="bad_coco")
        if not isinstance(category, str) or not category.strip():
            raise InvalidInput(f"{where} refers to no named category.", code="bad_coco")
        found.append(
            CocoAnnotation(
                annotation_id=annotation.get("id"),
                file_name=image["file_name"],
                category=category.strip(),
                segmentation=annotation.get("segmentation"),
                bbox=annotation.get("bbox"),
                size=_declared_size(image),
            )
        )
    return found


def _declared_size(image: dict) -> tuple[int, int] | None:
    height, width = image.get("height"), image.get("width")
    if all(type(v) is int and v > 0 for v in (height, width)) and height * width <= settings.MAX_IMAGE_PIXELS:
        return height, width
    return None


class Skip(Exception):
    """An annotation that is legal in form but cannot be placed on its image; the message says why."""


def _number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _ring(ring: Any, where: str) -> list[float]:
    if not isinstance(ring, list) or len(ring) % 2 or not all(_number(v) for v in ring):
        raise InvalidInput(f"{where}: a polygon is a flat list of x, y numbers.", code="bad_coco")
    if len(ring) < 6:
        raise Skip("a polygon has fewer than 3 points")
    return [float(v) for v in ring]


def _polygons_mask(rings: list[list[float]], size: tuple[int, int] | None) -> np.ndarray:
    xs = [v for ring in rings for v in ring[0::2]]
    ys = [v for ring in rings for v in ring[1::2]]
    if min(xs) < 0 or min(ys) < 0:
        raise Skip("a polygon has a vertex outside the image")
    if size is None:  # as far as the polygons reach; the import checks it against the image
        size = (math.ceil(max(ys)), math.ceil(max(xs)))
        if size[0] * size[1] > settings.MAX_IMAGE_PIXELS:
            raise Skip("a polygon reaches beyond any image")
    elif max(xs) > size[1] or max(ys) > size[0]:
        raise Skip(f"a polygon has a vertex outside the {size[1]}×{size[0]} image")
    if 0 in size:
        raise Skip("its polygons enclose no pixel")
    return coco_polygons_to_mask(rings, *size)


def _box_mask(bbox: Any, size: tuple[int, int] | None) -> np.ndarray:
    if not (isinstance(bbox, list) and len(bbox) == 4 and all(_number(v) for v in bbox)):
        raise Skip("it has neither a segmentation nor a bbox [x, y, width, height]")
    x, y, w, h = (float(v) for v in bbox)
    if w <= 0 or h <= 0:
        raise Skip("its bbox is empty")
    return _polygons_mask([[x, y, x + w, y, x + w, y + h, x, y + h]], size)


def annotation_mask(annotation: CocoAnnotation) -> np.ndarray:
    """The annotation's mask as pycocotools draws it (raises Skip, or InvalidInput when malformed)."""
    where = f"Annotation {shown(annotation.annotation_id)}"
    segmentation = annotation.segmentation
    if segmentation is None or segmentation == []:
        mask = _box_mask(annotation.bbox, annotation.size)
    elif isinstance(segmentation, list):
        try:
            check_counts(
                len(segmentation), sum(len(ring) if isinstance(ring, list) else 0 for ring in segmentation) // 2
            )
        except InvalidInput as exc:
            raise InvalidInput(f"{where}: {exc.message}", code=exc.code, details=exc.details) from exc
        mask = _polygons_mask([_ring(ring, where) for ring in segmentation], annotation.size)
    elif isinstance(segmentation, dict) and "counts" in segmentation and "size" in segmentation:
        mask = _rle_mask(segmentation, annotation.size, where)
    else:
        raise InvalidInput(f"{where}: 'segmentation' is a list of polygons or an RLE mask.", code="bad_coco")
    if not mask.any():
        raise Skip("its mask is empty")
    return mask


def _rle_mask(rle: dict, declared: tuple[int, int] | None, where: str) -> np.ndarray:
    """The RLE's mask, its run lengths checked first: pycocotools decodes short runs into uninitialised memory."""
    size = rle["size"]
    if not (isinstance(size, list) and len(size) == 2 and all(type(v) is int and v >= 0 for v in size)):
        raise InvalidInput(f"{where}: its RLE 'size' {shown(size)} is not [height, width].", code="bad_coco")
    height, width = size
    counts = rle["counts"]
    if isinstance(counts, list):
        runs = _runs_of_list(counts)
    elif isinstance(counts, str):
        runs = _runs_of_string(counts)
    else:
        raise InvalidInput(f"{where}: its RLE 'counts' is a list of run lengths or a string.", code="bad_coco")
    if runs is None or runs.sum() != height * width:
        raise InvalidInput(
            f"{where}: its RLE 'counts' are not run lengths (whole numbers ≥ 0) adding up to its 'size' "
            f"{height}×{width} pixels.",
            code="bad_coco",
        )
    if declared is not None and (height, width) != declared:
        raise Skip(f"its RLE 'size' [{height}, {width}] is not its image's [{declared[0]}, {declared[1]}]")
    if height * width > settings.MAX_IMAGE_PIXELS or height * width == 0:
        raise Skip(f"its RLE 'size' [{height}, {width}] fits no image")
    encoded = coco_mask.frPyObjects({"size": [height, width], "counts": runs.astype(np.uint32)}, height, width)
    return coco_mask.decode(encoded).astype(bool)


def _runs_of_list(counts: list) -> np.ndarray | None:
    """Uncompressed counts as int64, or ``None`` unless they are all whole numbers ≥ 0."""
    if not {type(count) for count in counts} <= {int, float}:
        return None
    try:
        values = np.asarray(counts, dtype=np.float64)
    except OverflowError:
        return None
    if not (np.isfinite(values).all() and (values >= 0).all() and (values == np.floor(values)).all()):
        return None
    return values.astype(np.int64)


def parsed_json(data: bytes) -> Any:
    check_import_size(len(data))
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:  # also integers of over 4300 digits, and arrays nested too deep
        raise InvalidInput(f"The file is not JSON we can read: {str(exc)[:200]}.", code="bad_json") from exc


def coco_reader(data: bytes) -> Iterator[ImportedAnnotation]:
    """The document's annotations, keyed by the document's digest and their id (importing a file twice adds
    nothing twice). The whole document is checked before the first annotation is yielded."""
    annotations = coco_annotations(parsed_json(data))
    digest = hashlib.sha256(data).hexdigest()[:16]
    for annotation in annotations:
        name = f"Annotation {shown(annotation.annotation_id)}"
        try:
            mask, skipped = annotation_mask(annotation), None
        except Skip as exc:
            mask, skipped = None, str(exc)
        yield ImportedAnnotation(
            key=f"coco-{digest}-{annotation_key(annotation.annotation_id)}",
            file_name=annotation.file_name,
            category=annotation.category,
            mask=mask,
            skipped=skipped,
            name=name,
        )
