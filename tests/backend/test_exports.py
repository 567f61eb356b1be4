"""Exports: COCO and Pascal VOC archives read back with the tools users have (pycocotools, Pillow)."""

import io
import json
from xml.etree import ElementTree

import numpy as np
import pytest
from PIL import Image as PILImage
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO

from backend.annotations.models import AnnotationObject
from backend.annotations.services import object_create
from backend.exports.contents import unique_file_names
from backend.images.models import Image, ImageStatus
from ml.postprocess import rle_to_mask
from tests.conftest import World
from tests.exporting import exported_archive

RING = [{"outer": [[5, 5], [55, 5], [55, 40], [5, 40]], "holes": [[[20, 15], [35, 15], [35, 30], [20, 30]]]}]


@pytest.fixture
def ring(world: World) -> AnnotationObject:
    """A second object on the batched image, with a hole, of the second label, over the world's square."""
    return object_create(
        image=world.batched_image, author=world.users["annotator"], label_id=world.spare_label.pk, polygons=RING
    )


def test_coco_archive_reads_back_with_pycocotools(world: World, ring: AnnotationObject, tmp_path) -> None:
    archive = exported_archive(world, format="coco")
    names = set(archive.namelist())
    assert {"annotations/instances_default.json", "images/a.png", "images/b.png"} <= names
    assert archive.read("images/a.png") == world.batched_image.file.open("rb").read()
    assert archive.getinfo("images/a.png").date_time[0] >= 2026  # dated now, not 1980
    (tmp_path / "instances.json").write_bytes(archive.read("annotations/instances_default.json"))
    coco = COCO(str(tmp_path / "instances.json"))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["car", "tree"]
    assert sorted(coco.getImgIds()) == sorted([world.batched_image.pk, world.free_image.pk])
    annotations = coco.loadAnns(coco.getAnnIds(imgIds=[world.batched_image.pk]))
    assert [a["id"] for a in annotations] == [world.obj.pk, ring.pk]
    square, holed = annotations
    assert isinstance(square["segmentation"], list) and isinstance(holed["segmentation"], dict)
    assert holed["category_id"] == 2 and square["category_id"] == 1
    np.testing.assert_array_equal(coco.annToMask(holed), rle_to_mask(ring.mask_rle))  # the hole is kept exactly
    # A pixel-edge polygon that pycocotools draws to exactly the stored pixels, with its own area and bbox.
    np.testing.assert_array_equal(coco.annToMask(square).astype(bool), rle_to_mask(world.obj.mask_rle))
    assert square["bbox"] == world.obj.bbox and square["area"] == world.obj.area
    assert square["area"] == float(coco_mask.area(coco.annToRLE(square)))
    assert square["bbox"] == [float(v) for v in coco_mask.toBbox(coco.annToRLE(square))]


def test_voc_archive_has_class_and_instance_maps_boxes_and_lists(world: World, ring: AnnotationObject) -> None:
    archive = exported_archive(world, format="voc")
    stem = "a"
    classes = np.array(PILImage.open(io.BytesIO(archive.read(f"SegmentationClass/{stem}.png"))))
    instances = np.array(PILImage.open(io.BytesIO(archive.read(f"SegmentationObject/{stem}.png"))))
    square, holed = rle_to_mask(world.obj.mask_rle).astype(bool), rle_to_mask(ring.mask_rle).astype(bool)
    assert (classes[holed] == 2).all() and (instances[holed] == 2).all()  # the later object is on top
    assert (classes[square & ~holed] == 1).all() and (instances[square & ~holed] == 1).all()
    assert (classes[~(square | holed)] == 0).all()
    palette = PILImage.open(io.BytesIO(archive.read(f"SegmentationClass/{stem}.png"))).getpalette()
    assert palette[3:6] == [255, 0, 0] and palette[6:9] == [0, 255, 0]  # the labels' colours
    xml = ElementTree.fromstring(archive.read(f"Annotations/{stem}.xml"))
    boxes = [(o.findtext("name"), [int(o.find("bndbox").findtext(k)) for k in ("xmin", "ymin", "xmax", "ymax")])
             for o in xml.iter("object")]  # fmt: skip
    x, y, w, h = world.obj.bbox
    assert boxes[0] == ("car", [x + 1, y + 1, x + w, y + h]) and boxes[1][0] == "tree"
    assert archive.read("ImageSets/Segmentation/default.txt").decode().split() == ["a", "b"]
    assert archive.read("labelmap.txt").decode().splitlines()[1:] == [
        "background:0,0,0::",
        "car:255,0,0::",
        "tree:0,255,0::",
    ]
    assert archive.read("JPEGImages/b.png") == world.free_image.file.open("rb").read()


def test_filters_and_without_images(world: World) -> None:
    Image.objects.filter(pk=world.batched_image.pk).update(status=ImageStatus.ACCEPTED)
    archive = exported_archive(world, format="coco", status="accepted", images=False)
    assert archive.namelist() == ["annotations/instances_default.json", "images/"]  # the folder, empty
    document = json.loads(archive.read("annotations/instances_default.json"))
    assert [i["id"] for i in document["images"]] == [world.batched_image.pk]
    assert [a["id"] for a in document["annotations"]] == [world.obj.pk]


def test_colliding_file_names_get_the_image_id() -> None:
    images = [
        Image(pk=1, original_name="x.png"),
        Image(pk=2, original_name="dir/x.jpg"),
        Image(pk=3, original_name="y.png"),
    ]
    assert unique_file_names(images) == {1: "x_1.png", 2: "x_2.jpg", 3: "y.png"}


def test_project_page_offers_the_export_to_managers_only(world: World, client) -> None:
    from backend.exports.formats import FORMATS

    client.force_login(world.users["manager"])
    page = client.get(f"/projects/{world.project.pk}/").content.decode()
    assert 'id="export"' in page and f'data-api="/api/projects/{world.project.pk}/exports/"' in page
    for name in FORMATS:  # every registered format is offered
        assert f'<option value="{name}">' in page
    client.force_login(world.users["annotator"])
    assert 'id="export"' not in client.get(f"/projects/{world.project.pk}/").content.decode()
