"""Importing COCO annotations: a round trip through our own export, idempotence, per-annotation skips, and
all-or-nothing errors for malformed documents."""

import json

import numpy as np
import pytest

from backend.annotations.models import AnnotationObject
from backend.annotations.services import object_create
from backend.images.services import images_upload
from backend.projects.services import member_add, project_create
from ml.postprocess import rle_to_mask
from tests.conftest import World, png_bytes, upload
from tests.exporting import exported_archive

RING = [{"outer": [[5, 5], [55, 5], [55, 40], [5, 40]], "holes": [[[20, 15], [35, 15], [35, 30], [20, 30]]]}]


def coco_of(world: World) -> bytes:
    return exported_archive(world, format="coco", images=False).read("annotations/instances_default.json")


@pytest.fixture
def copy(world: World):
    """A second project holding the same two images, managed by the world's manager."""
    project = project_create(name="Copy", created_by=world.users["admin"])
    member_add(project=project, username="manager", role="manager")
    files = [upload("a.png", png_bytes(seed=1)), upload("b.png", png_bytes(seed=2))]
    images_upload(project=project, files=files, uploaded_by=world.users["manager"])
    return project


def send(world: World, project, data: bytes, **fields):
    url = f"/api/projects/{project.pk}/import"
    return world.client("manager").post(url, {"file": upload("instances.json", data), **fields}, format="multipart")


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_an_export_imported_into_another_project_gives_the_same_objects_once(world: World, copy) -> None:
    ring = object_create(
        image=world.batched_image, author=world.users["annotator"], label_id=world.spare_label.pk, polygons=RING
    )
    data = coco_of(world)
    response = send(world, copy, data)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "created": 2, "already_imported": 0, "crowd_skipped": 0, "labels_created": ["car", "tree"], "unmatched_images": [],
        "skipped": [],
    }  # fmt: skip
    imported = AnnotationObject.objects.filter(image__project=copy).order_by("id")
    assert [(o.image.original_name, o.label.name, o.source) for o in imported] == [
        ("a.png", "car", "imported"), ("a.png", "tree", "imported"),
    ]  # fmt: skip
    for original, copied in zip([world.obj, ring], imported, strict=True):  # exact both ways
        np.testing.assert_array_equal(rle_to_mask(original.mask_rle), rle_to_mask(copied.mask_rle))
    assert len(imported[1].polygons[0]["holes"]) == 1  # the RLE's hole came back as a hole
    again = send(world, copy, data).json()
    assert again["created"] == 0 and again["already_imported"] == 2
    assert AnnotationObject.objects.filter(image__project=copy).count() == 2


def document(annotations: list[dict], categories=({"id": 1, "name": "car"},)) -> bytes:
    images = [{"id": 1, "file_name": "photos/a.png", "width": 64, "height": 48}, {"id": 2, "file_name": "zz.png"}]
    return json.dumps({"images": images, "categories": list(categories), "annotations": annotations}).encode()


SQUARE_SEGMENTATION = [[10, 10, 30, 10, 30, 30, 10, 30]]


def test_unmatched_images_are_reported_and_crowds_imported(world: World) -> None:
    data = document([
        {"id": 1, "image_id": 1, "category_id": 1, "segmentation": SQUARE_SEGMENTATION},
        {"id": 2, "image_id": 2, "category_id": 1, "segmentation": SQUARE_SEGMENTATION},
        {"id": 3, "image_id": 1, "category_id": 1, "segmentation": {"size": [48, 64], "counts": [0, 3072]}, "iscrowd": 1},
    ])  # fmt: skip
    report = send(world, world.project, data).json()
    assert report == {
        "created": 2,
        "already_imported": 0,
        "crowd_skipped": 0,
        "labels_created": [],
        "unmatched_images": ["zz.png"],
        "skipped": [{"annotation": "Annotation 2", "reason": "the project has no image named 'zz.png'"}],
    }
    assert world.batched_image.annotation_objects.filter(source="imported").count() == 2


@pytest.mark.parametrize(
    "data, fields, code",
    [
        (b"{not json", {}, "bad_json"),
        (json.dumps({"images": []}).encode(), {}, "bad_coco"),
        (document([{"id": 1, "image_id": 9, "category_id": 1, "segmentation": SQUARE_SEGMENTATION}]), {}, "bad_coco"),
        (document([{"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[1, 2, 3]]}]), {}, "bad_coco"),
        (document([{"id": 1, "image_id": 1, "category_id": 1, "segmentation": {"size": [10, 10], "counts": "x"}}]), {}, "bad_coco"),
        (document([{"id": 7, "image_id": 1, "category_id": 2, "segmentation": SQUARE_SEGMENTATION}],
                  [{"id": 2, "name": "bus"}]), {"create_labels": "false"}, "unknown_category"),
    ],
)  # fmt: skip
def test_bad_documents_get_a_clear_400(world: World, data: bytes, fields: dict, code: str) -> None:
    response = send(world, world.project, data, **fields)
    assert response.status_code == 400 and response.json()["error"] == code, response.content


def test_one_bad_annotation_is_skipped_with_its_reason(world: World) -> None:
    data = document(
        [
            {"id": 1, "image_id": 1, "category_id": 2, "segmentation": SQUARE_SEGMENTATION},  # adds a label "bus"
            {"id": 2, "image_id": 1, "category_id": 2, "segmentation": [[10, 10, 500, 10, 30, 30]]},  # outside
        ],
        [{"id": 2, "name": "bus"}],
    )
    report = send(world, world.project, data).json()
    assert report["created"] == 1 and report["labels_created"] == ["bus"]
    assert report["skipped"] == [
        {"annotation": "Annotation 2", "reason": "a polygon has a vertex outside the 64×48 image"}
    ]


def test_a_malformed_annotation_stores_nothing(world: World) -> None:
    before = AnnotationObject.objects.count()
    data = document(
        [
            {"id": 1, "image_id": 1, "category_id": 2, "segmentation": SQUARE_SEGMENTATION},  # would add a label "bus"
            {"id": 2, "image_id": 1, "category_id": 2, "segmentation": [[10, 10, "x", 10, 30, 30]]},
        ],
        [{"id": 2, "name": "bus"}],
    )
    response = send(world, world.project, data)
    assert response.status_code == 400 and "Annotation 2" in response.json()["detail"], response.content
    assert AnnotationObject.objects.count() == before and not world.project.labels.filter(name="bus").exists()
