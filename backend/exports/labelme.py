"""LabelMe JSON: one ``images/<stem>.json`` next to each image file, as the LabelMe program saves them.

Each file has LabelMe's current field set: ``version``, ``flags``, ``shapes``, ``imagePath`` (the image's file
name, relative to the JSON), ``imageData`` null, ``imageHeight``, ``imageWidth``. Every shape is a polygon
``{label, points, group_id, description, shape_type: "polygon", flags, mask: null}`` whose points outline pixel
edges (``coco_geometry``'s convention: the pixels 40..42 are the square (40, 40)…(43, 43)).

Holes: LabelMe polygons cannot have holes, so an object is written as several polygons sharing its ``group_id``
(the object's number in the image, from 1, in creation order; LabelMe's own tools merge shapes of one label and
group into one instance). Its hole outlines carry ``flags: {"hole": true}`` and ``description: "hole"``. The
shapes of a group come largest first, and painting them in file order — a polygon adds its inside, a hole removes
it — gives back the object's mask exactly (an island inside a hole is a polygon of its own). Readers ignoring the
flag see the object with its holes filled. Objects are written in creation order: later ones lie over earlier.

:func:`labelme_reader` reads such files (one JSON, or a zip of them): ``polygon`` and ``rectangle`` shapes,
grouped by ``(label, group_id)``; shapes without a ``group_id`` are objects of their own; other shape types are
reported as skipped.
"""

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import numpy as np

from backend.common.errors import InvalidInput
from backend.exports.coco_reading import parsed_json, shown
from backend.exports.contents import ExportContents
from backend.exports.importing import ImportedAnnotation, check_import_size
from backend.exports.rings import Ring, outlines, paint_rings, traced_rings
from backend.exports.rows import ImageRow, batches

IMAGES_DIR = "images"
LABELME_VERSION = "5.5.0"
HOLE = "hole"


def _points_json(corners: np.ndarray) -> str:
    """``[[x, y], ...]`` exactly as ``json.dumps`` writes the corners as floats: whole numbers (pixel corners, far
    below 1e16) are written ``40.0``."""
    texts = _number_texts(int(corners.max()))
    return "[[" + "], [".join([texts[x] + ", " + texts[y] for x, y in corners.tolist()]) + "]]"


_number_texts_cache: list[str] = []


def _number_texts(largest: int) -> list[str]:
    """``"%d.0" % k`` for every k up to at least ``largest`` (json.dumps' text of the float k); a bigger list
    replaces the shared one whole, so concurrent exports only ever see complete lists."""
    global _number_texts_cache
    texts = _number_texts_cache
    if len(texts) <= largest:
        texts = _number_texts_cache = [f"{k}.0" for k in range(2 * largest + 1024)]
    return texts


def _shapes_json(label_json: str, rings: list[tuple[np.ndarray, bool]], group_id: int) -> Iterator[str]:
    for corners, hole in rings:
        description, flags = (HOLE, '{"hole": true}') if hole else ("", "{}")
        yield (
            f'{{"label": {label_json}, "points": {_points_json(corners)}, "group_id": {group_id}, '
            f'"description": "{description}", "shape_type": "polygon", "flags": {flags}, "mask": null}}'
        )


def labelme_json(image: ImageRow, rings: list[list[tuple[np.ndarray, bool]]], labels_json: dict[int, str]) -> str:
    """The image's LabelMe document, written as text: exactly ``json.dumps(document, ensure_ascii=False)`` of the
    document the module describes (the shapes' points formatted at once). ``rings`` are its objects' outlines in
    painting order (``rings.outlines``), ``labels_json`` maps a label id to its name as JSON."""
    shapes = [
        shape
        for number, (obj, object_rings) in enumerate(zip(image.objects, rings, strict=True), start=1)
        for shape in _shapes_json(labels_json[obj.label_id], object_rings, number)
    ]
    image_path = json.dumps(image.file_name, ensure_ascii=False)
    return (
        f'{{"version": "{LABELME_VERSION}", "flags": {{}}, "shapes": [{", ".join(shapes)}], '
        f'"imagePath": {image_path}, "imageData": null, '
        f'"imageHeight": {image.height}, "imageWidth": {image.width}}}'
    )


def labelme_files(contents: ExportContents) -> Iterator[tuple[str, bytes]]:
    """(path in the archive, bytes) of everything but the image files themselves, one image at a time (every
    object of a batch of images traced at once)."""
    labels_json = {label.pk: json.dumps(label.name, ensure_ascii=False) for label in contents.labels}
    for batch in batches(contents):
        rings = outlines(batch.runs, traced_rings(batch.runs))
        for image in batch.images:
            image_rings = rings[image.first : image.first + len(image.objects)]
            yield f"{IMAGES_DIR}/{image.stem}.json", labelme_json(image, image_rings, labels_json).encode()


# Reading


def _documents(data: bytes) -> Iterator[tuple[str, bytes]]:
    """``(name, JSON bytes)`` of the upload: one JSON document, or every ``.json`` in a zip."""
    check_import_size(len(data))
    if not zipfile.is_zipfile(io.BytesIO(data)):
        yield "the file", data
        return
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = [i for i in archive.infolist() if i.filename.lower().endswith(".json") and not i.is_dir()]
        check_import_size(sum(i.file_size for i in entries))
        for entry in entries:
            yield entry.filename, archive.read(entry)


def _size(document: dict, where: str) -> tuple[int, int]:
    height, width = document.get("imageHeight"), document.get("imageWidth")
    if not all(type(v) is int and v > 0 for v in (height, width)):
        raise InvalidInput(f"{where}: 'imageHeight' and 'imageWidth' are positive whole numbers.", code="bad_labelme")
    return height, width


def _points(shape: dict, where: str) -> list[float]:
    points = shape.get("points")
    ok = isinstance(points, list) and all(
        isinstance(p, list) and len(p) == 2 and all(type(v) in (int, float) and np.isfinite(v) for v in p)
        for p in points
    )
    if not ok:
        raise InvalidInput(f"{where}: 'points' is a list of [x, y] numbers.", code="bad_labelme")
    return [float(v) for point in points for v in point]


def _ring(shape: dict, where: str) -> Ring | str:
    """The shape as a ring, or why it is skipped."""
    kind = shape.get("shape_type") or "polygon"
    points = _points(shape, where)
    hole = bool(isinstance(shape.get("flags"), dict) and shape["flags"].get(HOLE))
    if kind == "rectangle" and len(points) == 4:
        x0, x1 = sorted(points[0::2])
        y0, y1 = sorted(points[1::2])
        return Ring([x0, y0, x1, y0, x1, y1, x0, y1], hole)
    if kind == "polygon":
        return Ring(points, hole) if len(points) >= 6 else "a polygon has fewer than 3 points"
    return f"its shape_type {shown(kind)!r} is not imported (polygons and rectangles are)"


def _groups(shapes: list, where: str) -> list[tuple[str, str, list[Ring | str]]]:
    """``(name, label, rings or skip reasons)`` per object: shapes of one label and group_id, or one shape."""
    groups: dict[Any, tuple[str, str, list[Ring | str]]] = {}
    for index, shape in enumerate(shapes):
        here = f"{where}, shape {index}"
        if not isinstance(shape, dict) or not isinstance(shape.get("label"), str) or not shape["label"].strip():
            raise InvalidInput(f"{here}: a shape is an object with a 'label'.", code="bad_labelme")
        group = shape.get("group_id")
        if group is not None and type(group) is not int:
            raise InvalidInput(f"{here}: 'group_id' is a whole number or null.", code="bad_labelme")
        key = (shape["label"], group) if group is not None else ("", index)
        name = here if group is None else f"{where}, {shape['label'][:40]!r} group {group}"
        groups.setdefault(key, (name, shape["label"].strip(), []))[2].append(_ring(shape, here))
    return list(groups.values())


def _annotation(
    key: str, file_name: str, label: str, name: str, rings: list, size: tuple[int, int]
) -> ImportedAnnotation:
    skipped = next((ring for ring in rings if isinstance(ring, str)), None)
    mask = None
    if skipped is None:
        xs = [v for ring in rings for v in ring.points[0::2]]
        ys = [v for ring in rings for v in ring.points[1::2]]
        if min(xs) < 0 or min(ys) < 0 or max(xs) > size[1] or max(ys) > size[0]:
            skipped = f"a polygon has a vertex outside the {size[1]}×{size[0]} image"
        else:
            mask = paint_rings(rings, *size)
            if not mask.any():
                mask, skipped = None, "its polygons enclose no pixel"
    return ImportedAnnotation(key, file_name, label, mask, skipped, name)


def labelme_reader(data: bytes) -> Iterator[ImportedAnnotation]:
    """The objects of one LabelMe JSON or a zip of them, keyed by each document's digest and group (importing a
    file twice adds nothing twice). Every document is checked before the first annotation is yielded."""
    parsed = []
    for source, raw in _documents(data):
        document = parsed_json(raw)
        where = shown(source, 80)
        if not isinstance(document, dict) or not isinstance(document.get("shapes"), list):
            raise InvalidInput(f"{where}: a LabelMe document is an object with a list of 'shapes'.", code="bad_labelme")
        if not isinstance(document.get("imagePath"), str) or not document["imagePath"].strip():
            raise InvalidInput(f"{where}: it has no 'imagePath'.", code="bad_labelme")
        digest = hashlib.sha256(raw).hexdigest()[:16]
        parsed.append((digest, document["imagePath"], _size(document, where), _groups(document["shapes"], where)))
    for digest, image_path, size, groups in parsed:
        for number, (name, label, rings) in enumerate(groups):
            yield _annotation(f"labelme-{digest}-{number}", image_path, label, name, rings, size)
