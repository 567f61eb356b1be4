"""What an export holds: the chosen images with their objects and the project's labels.

The images are read lazily: ``ExportContents.images`` is a re-iterable sequence (``len()`` works) that queries
the images in chunks of ``CHUNK_IMAGES``, each chunk with its objects prefetched, so an export never holds every
object of a project in memory. Only the images' ids and uploaded names are read up front (unique file names need
them all). An optional ``progress`` callback is told how many images each pass has yielded so far.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePosixPath

from django.db.models import Prefetch, QuerySet

from backend.annotations.models import AnnotationObject
from backend.images.models import Image
from backend.projects.models import LabelClass, Project

CHUNK_IMAGES = 200
DEFERRED = ("polygons", "clicks")  # read per object (a query each) if a format ever touches them

Progress = Callable[[int, int], None]  # (images yielded so far, total images)


@dataclass(frozen=True)
class ExportedImage:
    image: Image
    file_name: str  # unique within the export: the uploaded name, or "<stem>_<id><ext>" when two share it
    objects: list[AnnotationObject]  # in creation order (later drawn over earlier); polygons/clicks not loaded

    @property
    def stem(self) -> str:
        return PurePosixPath(self.file_name).stem


class ExportedImages:
    """The chosen images in id order, queried chunk by chunk on each iteration."""

    def __init__(self, images: QuerySet[Image], *, chunk: int = CHUNK_IMAGES) -> None:
        self._images = images.order_by("id")
        self._chunk = chunk
        self.progress: Progress | None = None
        names = list(self._images.values_list("id", "original_name"))
        self._ids = [image_id for image_id, _ in names]
        self._names = unique_file_names(names)

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator[ExportedImage]:
        # Exports read the stored masks: the polygons and clicks (the largest JSON columns) are left unread.
        objects = AnnotationObject.objects.order_by("id").defer(*DEFERRED)
        objects = Prefetch("annotation_objects", queryset=objects)
        for chunk in self._chunks(lambda images: images.prefetch_related(objects)):
            for image in chunk:
                yield ExportedImage(image, self._names[image.pk], list(image.annotation_objects.all()))

    def files(self) -> Iterator[tuple[Image, str]]:
        """Each image with its file name, without its objects (copying the image files)."""
        for chunk in self._chunks(lambda images: images):
            for image in chunk:
                yield image, self._names[image.pk]

    def id_chunks(self) -> Iterator[list[int]]:
        """The image ids chunk by chunk, without a query (formats that read their own rows per chunk)."""
        for start in range(0, len(self._ids), self._chunk):
            yield self._ids[start : start + self._chunk]
            if self.progress is not None:
                self.progress(min(start + self._chunk, len(self._ids)), len(self._ids))

    def file_names(self) -> list[str]:
        """Every file name, in order, without a query (image lists)."""
        return [self._names[image_id] for image_id in self._ids]

    def _chunks(self, query: Callable[[QuerySet[Image]], QuerySet[Image]]) -> Iterator[list[Image]]:
        """The images chunk by chunk, telling ``progress`` after each chunk."""
        for start in range(0, len(self._ids), self._chunk):
            ids = self._ids[start : start + self._chunk]
            yield list(query(Image.objects.filter(pk__in=ids).order_by("id")))
            if self.progress is not None:
                self.progress(start + len(ids), len(self._ids))


@dataclass(frozen=True)
class ExportContents:
    project: Project
    labels: list[LabelClass]  # in the project's label order; category i+1 in COCO, class index i+1 in VOC
    images: ExportedImages = field(repr=False)

    def category_of(self, label_id: int) -> int:
        return self._categories[label_id]

    @cached_property
    def _categories(self) -> dict[int, int]:
        return {label.pk: index for index, label in enumerate(self.labels, start=1)}


def base_name(original_name: str) -> str:
    """The file name without any folder (uploads from zips keep theirs, Windows tools write backslashes)."""
    name = PurePosixPath(original_name.replace("\\", "/")).name.strip() or "image"
    return name.lstrip(".") or "image"


def unique_file_names(images: Iterable[Image | tuple[int, str]]) -> dict[int, str]:
    """A file name per image id (of images, or of (id, uploaded name) pairs): its uploaded base name, suffixed
    with the id where names (or stems) collide.

    Stems must be unique too: VOC names every file of an image after its stem.
    """
    pairs = [(i.pk, i.original_name) if isinstance(i, Image) else i for i in images]
    bases = {image_id: base_name(original_name) for image_id, original_name in pairs}
    stems: dict[str, int] = {}
    for base in bases.values():
        stem = PurePosixPath(base).stem.lower()
        stems[stem] = stems.get(stem, 0) + 1
    names = {}
    for image_id, base in bases.items():
        path = PurePosixPath(base)
        names[image_id] = base if stems[path.stem.lower()] == 1 else f"{path.stem}_{image_id}{path.suffix}"
    return names


def export_contents(*, project: Project, images: QuerySet[Image], progress: Progress | None = None) -> ExportContents:
    exported = ExportedImages(images)
    exported.progress = progress
    return ExportContents(project=project, labels=list(project.labels.order_by("order", "id")), images=exported)
