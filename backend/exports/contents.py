"""What an export holds: the chosen images with their objects and the project's labels, read once."""

from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePosixPath

from django.db.models import Prefetch, QuerySet

from backend.annotations.models import AnnotationObject
from backend.images.models import Image
from backend.projects.models import LabelClass, Project


@dataclass(frozen=True)
class ExportedImage:
    image: Image
    file_name: str  # unique within the export: the uploaded name, or "<stem>_<id><ext>" when two share it
    objects: list[AnnotationObject]  # in creation order: later objects are drawn over earlier ones

    @property
    def stem(self) -> str:
        return PurePosixPath(self.file_name).stem


@dataclass(frozen=True)
class ExportContents:
    project: Project
    labels: list[LabelClass]  # in the project's label order; category i+1 in COCO, class index i+1 in VOC
    images: list[ExportedImage]

    def category_of(self, label_id: int) -> int:
        return self._categories[label_id]

    @cached_property
    def _categories(self) -> dict[int, int]:
        return {label.pk: index for index, label in enumerate(self.labels, start=1)}


def base_name(original_name: str) -> str:
    """The file name without any folder (uploads from zips keep theirs, Windows tools write backslashes)."""
    name = PurePosixPath(original_name.replace("\\", "/")).name.strip() or "image"
    return name.lstrip(".") or "image"


def unique_file_names(images: list[Image]) -> dict[int, str]:
    """A file name per image id: its uploaded base name, suffixed with the id where names (or stems) collide.

    Stems must be unique too: VOC names every file of an image after its stem.
    """
    bases = {image.pk: base_name(image.original_name) for image in images}
    stems: dict[str, int] = {}
    for base in bases.values():
        stem = PurePosixPath(base).stem.lower()
        stems[stem] = stems.get(stem, 0) + 1
    names = {}
    for image_id, base in bases.items():
        path = PurePosixPath(base)
        names[image_id] = base if stems[path.stem.lower()] == 1 else f"{path.stem}_{image_id}{path.suffix}"
    return names


def export_contents(*, project: Project, images: QuerySet[Image]) -> ExportContents:
    objects = AnnotationObject.objects.order_by("id")
    chosen = list(images.order_by("id").prefetch_related(Prefetch("annotation_objects", queryset=objects)))
    names = unique_file_names(chosen)
    return ExportContents(
        project=project,
        labels=list(project.labels.order_by("order", "id")),
        images=[ExportedImage(image, names[image.pk], list(image.annotation_objects.all())) for image in chosen],
    )
