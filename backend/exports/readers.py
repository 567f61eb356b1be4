"""The import formats: ``READERS[name](data, project=project)`` yields the file's annotations for
``importing.import_annotations``.

Every reader takes the uploaded bytes and, as a keyword, the project imported into: YOLO label files name their
image only by stem and give no size, so the YOLO reader looks them up in the project
(``yolo.project_image_lookup``); COCO and LabelMe files carry both and ignore it.
"""

from collections.abc import Callable, Iterator

from backend.exports.coco_reading import coco_reader
from backend.exports.importing import ImportedAnnotation
from backend.exports.labelme import labelme_reader
from backend.exports.yolo import project_image_lookup, yolo_reader
from backend.projects.models import Project

Reader = Callable[..., Iterator[ImportedAnnotation]]


def _coco(data: bytes, *, project: Project | None = None) -> Iterator[ImportedAnnotation]:
    return coco_reader(data)


def _labelme(data: bytes, *, project: Project | None = None) -> Iterator[ImportedAnnotation]:
    return labelme_reader(data)


def _yolo(data: bytes, *, project: Project) -> Iterator[ImportedAnnotation]:
    return yolo_reader(data, images=project_image_lookup(project))


READERS: dict[str, Reader] = {"coco": _coco, "labelme": _labelme, "yolo": _yolo}
