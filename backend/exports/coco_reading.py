"""Reading a COCO instance document someone uploads: checked shape, every problem a clear InvalidInput."""

import re
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np
from pycocotools import mask as coco_mask

from backend.annotations.geometry import check_counts
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
                iscrowd=bool(annotation.get("iscrowd")),
            )
        )
    return found


def polygons_of(annotation: CocoAnnotation, width: int, height: int) -> Polygons:
    """The annotation's shape as the project's polygons (outer rings, and holes where an RLE has them)."""
    where = f"Annotation {shown(annotation.annotation_id)}"
    segmentation = annotation.segmentation
    if isinstance(segmentation, list) and segmentation and all(isinstance(ring, list) for ring in segmentation):
        try:
            check_counts(len(segmentation), sum(len(ring) for ring in segmentation) // 2)
        except InvalidInput as exc:
            raise InvalidInput(f"{where}: {exc.message}", code=exc.code, details=exc.details) from exc
        polygons = []
        for ring in segmentation:
            if len(ring) < 6 or len(ring) % 2:
                raise InvalidInput(f"{where}: a polygon is a flat list of at least 3 x, y pairs.", code="bad_coco")
            polygons.append({"outer": [[ring[i], ring[i + 1]] for i in range(0, len(ring), 2)], "holes": []})
        return polygons
    if isinstance(segmentation, dict) and "counts" in segmentation and "size" in segmentation:
        mask = _rle_mask(segmentation, width, height, where)
        polygons = mask_to_polygons(mask)
        if not polygons:
            raise InvalidInput(f"{where}: its mask is empty.", code="bad_coco")
        return polygons
    raise InvalidInput(f"{where}: 'segmentation' is a list of polygons or an RLE mask.", code="bad_coco")


def _rle_mask(rle: dict, width: int, height: int, where: str) -> np.ndarray:
    """The RLE's mask, its run lengths checked first: pycocotools decodes short runs into uninitialised memory."""
    size = rle["size"]
    if not isinstance(size, list) or size != [height, width]:
        raise InvalidInput(
            f"{where}: its RLE 'size' {shown(size)} is not the image's [height, width], [{height}, {width}].",
            code="bad_coco",
        )
    counts = rle["counts"]
    if isinstance(counts, list):
        runs = _runs_of_list(counts)
    elif isinstance(counts, str):
        runs = _runs_of_string(counts)
    else:
        raise InvalidInput(f"{where}: its RLE 'counts' is a list of run lengths or a string.", code="bad_coco")
    if runs is None or runs.sum() != height * width:
        raise InvalidInput(
            f"{where}: its RLE 'counts' are not run lengths (whole numbers ≥ 0) adding up to the image's "
            f"{height}×{width} pixels.",
            code="bad_coco",
        )
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


def _runs_of_string(text: str) -> np.ndarray | None:
    """Run lengths of a compressed COCO RLE string (pycocotools' ``rleFrString``), or ``None`` if it is malformed.

    Each count is written in 5-bit groups ('0' + value, 0x20 = more groups follow, 0x10 in the last = negative);
    from the fourth count on, each is stored as its difference to the count two before.
    """
    if not text:
        return np.zeros(0, dtype=np.int64)
    if not text.isascii():
        return None
    chars = np.frombuffer(text.encode("ascii"), dtype=np.uint8).astype(np.int64) - 48
    ends = np.flatnonzero((chars & 0x20) == 0)
    if chars.min() < 0 or chars.max() > 63 or ends.size == 0 or ends[-1] != chars.size - 1:
        return None
    starts = np.concatenate([[0], ends[:-1] + 1])
    lengths = ends - starts + 1
    if lengths.max() > 7:  # 35 bits: more than any 32-bit count needs
        return None
    position = np.arange(chars.size) - np.repeat(starts, lengths)
    values = np.add.reduceat((chars & 0x1F) << (5 * position), starts)
    values = np.where(chars[ends] & 0x10, values - (1 << (5 * lengths)), values)
    runs = values.copy()
    runs[1::2] = np.cumsum(values[1::2])
    runs[2::2] = np.cumsum(values[2::2])
    return runs if (runs >= 0).all() else None


def image_id_in_export_name(file_name: str) -> tuple[str, int] | None:
    """``(original stem + suffix, id)`` of a name our export gave to an image whose name was taken: ``x_12.png``."""
    path = PurePosixPath(file_name)
    match = re.fullmatch(r"(.*)_(\d{1,18})", path.stem)
    return (match.group(1) + path.suffix, int(match.group(2))) if match else None
