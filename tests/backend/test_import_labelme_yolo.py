"""Importing LabelMe and YOLO-seg: our own exports import back to the same masks, once; what cannot be placed
(unknown images, unknown classes, other shape types) is reported per annotation; malformed files import nothing."""

import io
import json
import zipfile

import numpy as np
import pytest

from backend.annotations.models import AnnotationObject
from backend.annotations.services import object_create_from_mask
from backend.common.errors import InvalidInput
from backend.exports.contents import export_contents
from backend.exports.importing import import_annotations
from backend.exports.labelme import labelme_files
from backend.exports.readers import READERS
from backend.exports.yolo import yolo_files
from backend.images.models import Image
from backend.images.services import images_upload
from tests.backend.test_coco_import import copy  # noqa: F401 - the fixture: a project with the same images
from tests.backend.test_export_formats import H, W, iou, scene, stored  # noqa: F401 - scene is a fixture
from tests.conftest import World, png_bytes, upload


def zipped(files) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path, data in files:
            archive.writestr(path, data)
    return buffer.getvalue()


def exported(world: World, files) -> bytes:
    return zipped(files(export_contents(project=world.project, images=Image.objects.filter(project=world.project))))


def run(world: World, project, fmt: str, data: bytes, **options):
    annotations = READERS[fmt](data, project=project)
    return import_annotations(project=project, author=world.users["manager"], annotations=annotations, **options)


def imported(project) -> list[AnnotationObject]:
    return list(AnnotationObject.objects.filter(image__project=project).order_by("id"))


def test_labelme_export_imports_back_to_the_same_masks_once(world: World, scene, copy) -> None:  # noqa: F811
    data = exported(world, labelme_files)
    report = run(world, copy, "labelme", data)
    assert (report.created, report.skipped, report.unmatched_images) == (5, [], [])
    assert report.labels_created == ["car", "tree", "car:parked"]
    objects = imported(copy)
    assert [(o.image.original_name, o.label.name) for o in objects] == [("a.png", o.label.name) for o in scene]
    for original, copied in zip(scene, objects, strict=True):
        np.testing.assert_array_equal(stored(copied), stored(original))  # holes, island, speck, border: exact
    again = run(world, copy, "labelme", data)
    assert (again.created, again.already_imported) == (0, 5)


def test_one_labelme_json_imports_without_a_zip(world: World, scene, copy) -> None:  # noqa: F811
    files = dict(
        labelme_files(export_contents(project=world.project, images=Image.objects.filter(pk=world.obj.image_id)))
    )
    report = run(world, copy, "labelme", files["images/a.json"])
    assert report.created == 5


def test_yolo_export_imports_back_as_one_object_per_line(world: World, scene, copy) -> None:  # noqa: F811
    data = exported(world, yolo_files)
    report = run(world, copy, "yolo", data)
    assert (report.created, report.skipped, report.unmatched_images) == (7, [], [])
    objects = imported(copy)
    assert [o.label.name for o in objects] == ["car", "tree", "tree", "car", "tree", "tree", "car:parked"]
    square, frame, island, dot, part1, part2, overlap = (stored(o) for o in objects)
    assert iou(square, stored(scene[0])) >= 0.99 and iou(overlap, stored(scene[4])) >= 0.99
    assert (dot == stored(scene[2])).all() and dot.sum() == 1
    assert iou(part1 | part2, stored(scene[3])) >= 0.99
    ring = stored(scene[1])
    assert (ring <= frame | island).all() and (frame & ~ring).sum() == 24 * 28 - 14 * 18 + 4 * 4  # holes filled
    assert (run(world, copy, "yolo", data).already_imported, len(imported(copy))) == (7, 7)


def test_yolo_finds_images_by_the_stems_our_export_gives_duplicate_names(world: World) -> None:
    report = images_upload(
        project=world.project, files=[upload("a.png", png_bytes(seed=5))], uploaded_by=world.users["manager"]
    )
    (second_a,) = report.created
    mask = np.zeros((H, W), bool)
    mask[1:5, 1:9] = True
    object_create_from_mask(image=second_a, author=world.users["annotator"], label_id=world.label.pk, mask=mask)
    data = exported(world, yolo_files)
    assert f"labels/a_{second_a.pk}.txt" in zipfile.ZipFile(io.BytesIO(data)).namelist()
    AnnotationObject.objects.filter(image__project=world.project).delete()
    result = run(world, world.project, "yolo", data)
    assert result.created == 2 and result.skipped == []
    (copied,) = AnnotationObject.objects.filter(image=second_a)
    assert (stored(copied) == mask).all()


def test_unknown_images_classes_and_shapes_are_reported_per_annotation(world: World, copy) -> None:  # noqa: F811
    square = [[1, 1], [9, 1], [9, 9], [1, 9]]
    shape = {"label": "car", "points": square, "group_id": None, "shape_type": "polygon", "flags": {}}
    documents = {
        "a.json": {"shapes": [shape, {**shape, "shape_type": "circle", "points": [[5, 5], [8, 8]]},
                              {**shape, "points": [[1, 1], [2, 2]]}, {**shape, "points": [[1, 1], [90, 1], [9, 9]]}],
                   "imagePath": "a.png", "imageHeight": H, "imageWidth": W},
        "zzz.json": {"shapes": [shape], "imagePath": "zzz.png", "imageHeight": H, "imageWidth": W},
    }  # fmt: skip
    report = run(world, copy, "labelme", zipped((k, json.dumps(v)) for k, v in documents.items()))
    assert report.created == 1 and report.unmatched_images == ["zzz.png"]
    assert [item["reason"] for item in report.skipped] == [
        "its shape_type 'circle' is not imported (polygons and rectangles are)",
        "a polygon has fewer than 3 points",
        f"a polygon has a vertex outside the {W}×{H} image",
        "the project has no image named 'zzz.png'",
    ]
    assert report.skipped[0]["annotation"] == "a.json, shape 1"
    yolo = zipped([("data.yaml", "names: [car]\n"), ("labels/a.txt", "0 0 0 .5 0 .5 .5\n7 0 0 .5 0 .5 .5\n"),
                   ("labels/nope.txt", "0 0 0 .5 0 .5 .5\n"), ("labels/b.txt", "0 0 0 1.5 0 .5 .5\n")])  # fmt: skip
    report = run(world, copy, "yolo", yolo)
    assert report.created == 1
    assert sorted((item["annotation"], item["reason"]) for item in report.skipped) == [
        ("labels/a.txt line 2", "its class is not in data.yaml's names"),
        ("labels/b.txt line 1", "a point lies outside [0, 1]"),
        ("labels/nope.txt line 1", "the project has no image 'nope'"),
    ]


@pytest.mark.parametrize(
    ("fmt", "data"),
    [
        ("labelme", b"{not json"),
        (
            "labelme",
            json.dumps(
                {"shapes": [{"label": "car", "points": "x"}], "imagePath": "a.png", "imageHeight": H, "imageWidth": W}
            ).encode(),
        ),  # fmt: skip
        ("labelme", json.dumps({"shapes": [], "imagePath": "a.png"}).encode()),
        ("yolo", b"not a zip"),
        ("yolo", zipped([("labels/a.txt", "0 0 0 .5 0 .5 .5\n")])),
        ("yolo", zipped([("data.yaml", "names: [car]\n"), ("labels/a.txt", "0 0 0 .5 x .5 .5\n")])),
    ],
)
def test_malformed_files_import_nothing(world: World, copy, fmt: str, data: bytes) -> None:  # noqa: F811
    with pytest.raises(InvalidInput):
        run(world, copy, fmt, data)
    assert imported(copy) == []


def test_unknown_classes_without_create_labels_refuse_the_file(world: World, scene, copy) -> None:  # noqa: F811
    with pytest.raises(InvalidInput, match="no label 'car'"):
        run(world, copy, "labelme", exported(world, labelme_files), create_labels=False)
    assert imported(copy) == []
