"""How the label formats (VOC, masks, LabelMe, YOLO) read an export: chunk by chunk, as plain rows.

Each chunk of ``contents.images.unit_chunks()`` is two queries of tuples — the images' sizes, the objects' label,
stored mask and box in creation order — with no model instance built. Its images come in batches of
``BATCH_IMAGES`` (fewer when they reach ``BATCH_PIXELS``) whose objects' stored masks are decoded into runs together
(:func:`backend.exports.rings.object_runs`) and traced together by the formats that trace: numpy's per-call costs
are most of what one image with a few small objects costs, while a whole chunk's arrays would be large (memory,
slower sorts). Progress is told by ``unit_chunks`` after each chunk.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from backend.annotations.models import AnnotationObject
from backend.exports.contents import ExportContents
from backend.exports.rings import ObjectRuns, object_runs
from backend.images.models import Image

BATCH_IMAGES = 8
BATCH_PIXELS = 8_000_000  # a batch's label maps are painted at once: big images come fewer at a time


@dataclass(frozen=True)
class ObjectRow:
    label_id: int
    mask_rle: dict
    bbox: list[float]


@dataclass(frozen=True)
class ImageRow:
    file_name: str  # unique within the export (``contents.images.file_names()``)
    height: int
    width: int
    objects: list[ObjectRow]  # in creation order (later drawn over earlier)
    first: int  # the index of its first object in its batch's runs

    @property
    def stem(self) -> str:
        return PurePosixPath(self.file_name).stem

    @property
    def pixels(self) -> int:
        return self.height * self.width


@dataclass(frozen=True)
class Batch:
    images: list[ImageRow]
    runs: ObjectRuns  # every object of the batch's images, image after image

    def runs_of(self, image: ImageRow) -> ObjectRuns:
        return self.runs.select(image.first, image.first + len(image.objects))


def batches(contents: ExportContents) -> Iterator[Batch]:
    """The export's units (images, or slices of stacks) in order, batch by batch, with their objects and runs."""
    for units in contents.images.unit_chunks():
        ids = sorted({unit.image_id for unit in units})
        sizes = {pk: (height, width) for pk, height, width in _sizes(ids)}
        objects: dict[int, list[tuple[int, ObjectRow]]] = {pk: [] for pk in ids}
        rows = AnnotationObject.objects.filter(image_id__in=ids).order_by("image_id", "id")
        for image_id, slice_index, label_id, mask_rle, bbox in rows.values_list(
            "image_id", "slice", "label_id", "mask_rle", "bbox"
        ):
            objects[image_id].append((slice_index, ObjectRow(label_id, mask_rle, bbox)))
        images: list[ImageRow] = []
        for unit in units:
            if unit.image_id not in sizes:  # deleted meanwhile
                continue
            chosen = [row for slice_index, row in objects[unit.image_id] if unit.holds(slice_index)]
            first = sum(len(image.objects) for image in images)
            images.append(ImageRow(unit.file_name, *sizes[unit.image_id], chosen, first))
            if len(images) == BATCH_IMAGES or sum(image.pixels for image in images) >= BATCH_PIXELS:
                yield _batch(images)
                images = []
        if images:
            yield _batch(images)


def _batch(images: list[ImageRow]) -> Batch:
    return Batch(images, object_runs([obj.mask_rle for image in images for obj in image.objects]))


def _sizes(ids: list[int]) -> list[tuple[int, int, int]]:
    return list(Image.objects.filter(pk__in=ids).values_list("id", "height", "width"))
