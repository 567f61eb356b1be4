"""YOLO segmentation (Ultralytics' layout): ``images/``, ``labels/<stem>.txt`` and ``data.yaml``.

Each line of ``labels/<stem>.txt`` is one outer ring of one object: ``class x1 y1 x2 y2 ...``, the class being the
label's index in the project's label order from 0 and the points the ring's pixel-edge outline
(``coco_geometry``'s convention) divided by the image's width and height, so within [0, 1]. An object of several
parts gives several lines; YOLO cannot express holes, so an object's holes are filled. Lines follow the objects'
creation order. An image without objects has an empty label file (a background image to YOLO).
``data.yaml`` has ``path: .`` (the folder holding it: give an absolute path if your trainer resolves it
elsewhere), ``train`` and ``val`` both ``images`` (the export has no split) and ``names`` (index → label name).

:func:`yolo_reader` reads such a zip back. Label files name their image only by stem and give no size, so it takes
an :data:`ImageLookup` — ``stem → (file name, height, width)`` or None — for the project imported into
(:func:`project_image_lookup`: the stems our export gives the project's images, and their uploaded names' stems).
"""

import functools
import hashlib
import io
import math
import zipfile
from collections.abc import Callable, Iterator
from pathlib import PurePosixPath

import numpy as np
import yaml

from backend.common.errors import InvalidInput
from backend.exports.coco_geometry import coco_polygons_to_mask
from backend.exports.coco_reading import shown
from backend.exports.contents import ExportContents, base_name, unique_file_names
from backend.exports.importing import ImportedAnnotation, check_import_size
from backend.exports.rings import outer_outlines, traced_rings
from backend.exports.rows import ImageRow, batches
from backend.images.models import Image
from backend.projects.models import Project

IMAGES_DIR = "images"
LABELS_DIR = "labels"
DATA_PATH = "data.yaml"

ImageLookup = Callable[[str], tuple[str, int, int] | None]


def yolo_lines(contents: ExportContents, image: ImageRow, traced: list[list]) -> str:
    """One line per outer ring (``traced``: the objects' rings, ``rings.traced_rings``): the class, then the
    corners divided by the width and height, each ``%.6f``. Corners are whole pixel positions, so each value is
    looked up in a table of ``%.6f % (k / size)`` per position (the same text)."""
    xs, ys = _scaled_texts(image.width), _scaled_texts(image.height)
    lines = []
    for obj, rings in zip(image.objects, traced, strict=True):
        index = contents.category_of(obj.label_id) - 1
        for corners in outer_outlines(rings):
            texts = np.empty(corners.size, dtype=object)
            texts[0::2], texts[1::2] = xs[corners[:, 0]], ys[corners[:, 1]]
            lines.append(f"{index} {' '.join(texts.tolist())}\n")
    return "".join(lines)


@functools.lru_cache(maxsize=64)
def _scaled_texts(size: int) -> np.ndarray:
    """``"%.6f" % (k / size)`` for every pixel position k of 0..size, as yolo_lines wrote each value."""
    return np.array(["%.6f" % (k / size) for k in range(size + 1)], dtype=object)


def data_yaml(contents: ExportContents) -> str:
    names = {index: label.name for index, label in enumerate(contents.labels)}
    document = {"path": ".", "train": IMAGES_DIR, "val": IMAGES_DIR, "names": names}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def yolo_files(contents: ExportContents) -> Iterator[tuple[str, bytes]]:
    """(path in the archive, bytes) of everything but the image files themselves, one image at a time."""
    for batch in batches(contents):
        traced = traced_rings(batch.runs)  # every object of a batch of images at once
        for image in batch.images:
            rings = traced[image.first : image.first + len(image.objects)]
            yield f"{LABELS_DIR}/{image.stem}.txt", yolo_lines(contents, image, rings).encode()
    yield DATA_PATH, data_yaml(contents).encode()


# Reading


def project_image_lookup(project: Project) -> ImageLookup:
    """Images of the project by the stem our export names them with, else by their uploaded name's stem."""
    images = list(Image.objects.filter(project=project).order_by("id"))
    exported = unique_file_names(images)
    by_stem = {PurePosixPath(exported[i.pk]).stem: (exported[i.pk], i.height, i.width) for i in images}
    for image in images:
        name = base_name(image.original_name)
        by_stem.setdefault(PurePosixPath(name).stem, (name, image.height, image.width))
    return by_stem.get


def _names(archive: zipfile.ZipFile) -> dict[int, str]:
    candidates = [n for n in archive.namelist() if PurePosixPath(n).name == DATA_PATH]
    if not candidates:
        raise InvalidInput("A YOLO archive has a data.yaml with the class 'names'.", code="bad_yolo")
    try:
        document = yaml.safe_load(archive.read(min(candidates, key=len)))
    except yaml.YAMLError as exc:
        raise InvalidInput(f"data.yaml is not YAML we can read: {str(exc)[:200]}.", code="bad_yolo") from exc
    names = document.get("names") if isinstance(document, dict) else None
    if isinstance(names, list):
        names = dict(enumerate(names))
    if not isinstance(names, dict) or not all(type(k) is int and isinstance(v, str | int) for k, v in names.items()):
        raise InvalidInput("data.yaml's 'names' is a list or a map of class index → name.", code="bad_yolo")
    return {index: str(name).strip() for index, name in names.items()}


def _label_files(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [
        info
        for info in archive.infolist()
        if not info.is_dir() and info.filename.endswith(".txt") and LABELS_DIR in PurePosixPath(info.filename).parts
    ]


def _parsed_line(line: str, where: str) -> tuple[int, list[float]]:
    fields = line.split()
    try:
        index, values = int(fields[0]), [float(v) for v in fields[1:]]
    except ValueError as exc:
        raise InvalidInput(f"{where}: a line is a class index and x y numbers.", code="bad_yolo") from exc
    if len(values) % 2 or not all(math.isfinite(v) for v in values):
        raise InvalidInput(f"{where}: a line is a class index and x y numbers.", code="bad_yolo")
    return index, values


def _annotation(
    key: str, name: str, image: tuple[str, int, int] | None, stem: str, category: str | None, values: list[float]
) -> ImportedAnnotation:
    file_name = image[0] if image else stem
    if image is None:
        return ImportedAnnotation(key, file_name, category or "", None, f"the project has no image {stem!r}", name)
    if category is None:
        return ImportedAnnotation(key, file_name, "", None, "its class is not in data.yaml's names", name)
    if len(values) < 6:
        return ImportedAnnotation(key, file_name, category, None, "a polygon has fewer than 3 points", name)
    if min(values) < 0 or max(values) > 1:
        return ImportedAnnotation(key, file_name, category, None, "a point lies outside [0, 1]", name)
    _, height, width = image
    ring = [v * (width if i % 2 == 0 else height) for i, v in enumerate(values)]
    mask = coco_polygons_to_mask([ring], height, width)
    if not mask.any():
        return ImportedAnnotation(key, file_name, category, None, "its polygon encloses no pixel", name)
    return ImportedAnnotation(key, file_name, category, mask, None, name)


def yolo_reader(data: bytes, *, images: ImageLookup) -> Iterator[ImportedAnnotation]:
    """The objects of a YOLO-seg zip (one per line), keyed by the label file's digest and line number (importing a
    file twice adds nothing twice). Every file is checked before the first annotation is yielded."""
    check_import_size(len(data))
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise InvalidInput("A YOLO import is a zip with data.yaml and labels/*.txt.", code="bad_yolo")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = _names(archive)
        entries = _label_files(archive)
        check_import_size(sum(info.file_size for info in entries))
        parsed = []
        for info in entries:
            raw = archive.read(info)
            digest, stem = hashlib.sha256(raw).hexdigest()[:16], PurePosixPath(info.filename).stem
            try:
                lines = raw.decode("utf-8").splitlines()
            except UnicodeDecodeError as exc:
                raise InvalidInput(f"{shown(info.filename, 80)} is not UTF-8 text.", code="bad_yolo") from exc
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    where = f"{shown(info.filename, 80)} line {number}"
                    parsed.append((f"yolo-{digest}-{number}", where, stem, _parsed_line(line, where)))
    for key, where, stem, (index, values) in parsed:
        yield _annotation(key, where, images(stem), stem, names.get(index), values)
