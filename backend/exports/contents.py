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
    slice: int | None = None  # the slice of a stack this entry is (None: the whole image)

    @property
    def stem(self) -> str:
        return PurePosixPath(self.file_name).stem


@dataclass(frozen=True)
class Unit:
    """One picture of the export: a 2-D image, or one slice of a stack (2-D formats write a stack slice by slice).

    ``unit_id`` is the image's id for a whole image; a slice gets an id after every image id of the export (ids
    the export's own documents use, e.g. COCO's image ids)."""

    image_id: int
    slice: int | None  # None: the whole image
    unit_id: int
    file_name: str

    def holds(self, object_slice: int) -> bool:
        return self.slice is None or self.slice == object_slice


class ExportedImages:
    """The chosen images in id order — each a unit, or each slice of a stack a unit with ``per_slice`` — queried
    chunk by chunk on each iteration.

    Sources (16-bit, DICOM…) are exported as their PNG rendering, named ``<stem>.png`` (a slice
    ``<stem>_s0007.png``), unless ``source_files`` (formats that ship the stored files, e.g. GeoTIFF)."""

    def __init__(
        self, images: QuerySet[Image], *, chunk: int = CHUNK_IMAGES, per_slice: bool = True, source_files: bool = False
    ) -> None:
        self._images = images.order_by("id")
        self._chunk = chunk
        self.progress: Progress | None = None
        rows = list(self._images.values_list("id", "original_name", "kind", "slice_count"))
        renamed = [(pk, name if kind == "photo" or source_files else _as_png(name)) for pk, name, kind, _ in rows]
        names = unique_file_names(renamed)
        self._units: list[Unit] = []
        next_id = max((row[0] for row in rows), default=0) + 1
        for pk, _, _, slices in rows:
            if per_slice and slices > 1:
                path = PurePosixPath(names[pk])
                for index in range(slices):
                    self._units.append(Unit(pk, index, next_id, f"{path.stem}_s{index:04d}{path.suffix}"))
                    next_id += 1
            else:
                self._units.append(Unit(pk, None, pk, names[pk]))

    def __len__(self) -> int:
        return len(self._units)

    def __iter__(self) -> Iterator[ExportedImage]:
        # Exports read the stored masks: the polygons and clicks (the largest JSON columns) are left unread.
        objects = AnnotationObject.objects.order_by("id").defer(*DEFERRED)
        objects = Prefetch("annotation_objects", queryset=objects)
        for units, images in self._chunks(lambda images: images.prefetch_related(objects)):
            for unit in units:
                if (image := images.get(unit.image_id)) is not None:
                    chosen = [o for o in image.annotation_objects.all() if unit.holds(o.slice)]
                    yield ExportedImage(image, unit.file_name, chosen, unit.slice)

    def files(self) -> Iterator[tuple[Image, Unit]]:
        """Each unit with its image, without objects (copying the image files)."""
        for units, images in self._chunks(lambda images: images):
            for unit in units:
                if (image := images.get(unit.image_id)) is not None:
                    yield image, unit

    def unit_chunks(self) -> Iterator[list[Unit]]:
        """The units chunk by chunk, without a query (formats that read their own rows per chunk)."""
        for start in range(0, len(self._units), self._chunk):
            yield self._units[start : start + self._chunk]
            if self.progress is not None:
                self.progress(min(start + self._chunk, len(self._units)), len(self._units))

    def id_chunks(self) -> Iterator[list[int]]:
        """The image id of each unit, chunk by chunk (aligned with :meth:`file_names`)."""
        for units in self.unit_chunks():
            yield [unit.image_id for unit in units]

    def file_names(self) -> list[str]:
        """Every unit's file name, in order, without a query (image lists)."""
        return [unit.file_name for unit in self._units]

    def _chunks(
        self, query: Callable[[QuerySet[Image]], QuerySet[Image]]
    ) -> Iterator[tuple[list[Unit], dict[int, Image]]]:
        """The units chunk by chunk with their images, telling ``progress`` after each chunk."""
        for start in range(0, len(self._units), self._chunk):
            units = self._units[start : start + self._chunk]
            ids = sorted({unit.image_id for unit in units})
            yield units, {image.pk: image for image in query(Image.objects.filter(pk__in=ids).order_by("id"))}
            if self.progress is not None:
                self.progress(start + len(units), len(self._units))


def _as_png(name: str) -> str:
    base = name.removesuffix(".gz") if name.lower().endswith(".nii.gz") else name
    return str(PurePosixPath(base).with_suffix(".png")) if PurePosixPath(base).suffix else f"{base}.png"


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


def export_contents(
    *,
    project: Project,
    images: QuerySet[Image],
    progress: Progress | None = None,
    per_slice: bool = True,
    source_files: bool = False,
) -> ExportContents:
    """The export of ``images``: 2-D formats take a stack slice by slice (``per_slice``); formats that ship the
    stored files (``source_files``) keep their names."""
    exported = ExportedImages(images, per_slice=per_slice, source_files=source_files)
    exported.progress = progress
    return ExportContents(project=project, labels=list(project.labels.order_by("order", "id")), images=exported)
