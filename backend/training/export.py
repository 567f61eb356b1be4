"""Export a project's accepted objects as COCO instance JSON (RLE masks), split into train and held-out."""

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db.models import QuerySet

from backend.annotations.models import AnnotationObject
from backend.images.models import ImageStatus
from backend.projects.models import Project


@dataclass(frozen=True)
class ExportedData:
    """COCO JSON files whose ``file_name``s are relative to ``images_dir`` (the media root)."""

    train_json: Path
    heldout_json: Path
    images_dir: Path
    train_objects: int
    heldout_objects: int


def accepted_objects(project: Project) -> QuerySet[AnnotationObject]:
    """Objects of the project's accepted images, in a stable order."""
    return (
        AnnotationObject.objects.filter(image__project=project, image__status=ImageStatus.ACCEPTED)
        .select_related("image")
        .order_by("image_id", "id")
    )


def split_heldout(
    objects: list[AnnotationObject], fraction: float
) -> tuple[list[AnnotationObject], list[AnnotationObject]]:
    """(train, held-out), both non-empty for two or more objects. Every ``1/fraction``-th image is held out
    (whole images, so no photo is on both sides); with a single image, every ``1/fraction``-th object."""
    step = max(2, round(1 / fraction))
    by_image: dict[int, list[AnnotationObject]] = defaultdict(list)
    for obj in objects:
        by_image[obj.image_id].append(obj)
    groups = list(by_image.values()) if len(by_image) > 1 else [[obj] for obj in objects]
    heldout_groups = set(range(0, len(groups), step))
    if len(heldout_groups) == len(groups):
        heldout_groups = {0}
    train = [obj for i, group in enumerate(groups) if i not in heldout_groups for obj in group]
    heldout = [obj for i, group in enumerate(groups) if i in heldout_groups for obj in group]
    return train, heldout


def coco_document(objects: list[AnnotationObject]) -> dict:
    images = {obj.image_id: obj.image for obj in objects}
    return {
        "images": [
            {"id": image.pk, "file_name": image.file.name, "width": image.width, "height": image.height}
            for image in images.values()
        ],
        "categories": [{"id": 1, "name": "object"}],
        "annotations": [
            {
                "id": obj.pk,
                "image_id": obj.image_id,
                "category_id": 1,
                "segmentation": obj.mask_rle,
                "area": float(obj.area),
                "bbox": obj.bbox,
                "iscrowd": 0,
            }
            for obj in objects
        ],
    }


def export_project_data(project: Project, out_dir: Path, heldout_fraction: float) -> ExportedData:
    """Write ``train.json`` and ``heldout.json`` into ``out_dir``."""
    train, heldout = split_heldout(list(accepted_objects(project)), heldout_fraction)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = out_dir / "train.json", out_dir / "heldout.json"
    for path, objects in zip(paths, (train, heldout), strict=True):
        path.write_text(json.dumps(coco_document(objects)))
    return ExportedData(paths[0], paths[1], Path(settings.MEDIA_ROOT), len(train), len(heldout))
