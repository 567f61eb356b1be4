"""COCO and Pascal VOC exports read back by Datumaro 1.13 (issue 13): no import error or warning, every image at
the size of its pixels (the EXIF-rotated JPEG included), every object under its label's name, and the geometry the
format promises (backend/exports/coco.py, voc.py): COCO RLE and VOC masks exact to the pixel, COCO polygons drawn
by pycocotools (which Datumaro rasterises them with) at IoU >= 0.999 with the stored mask, boxes as stored.

Datumaro 1.13 has no reader for the other formats the app writes: its ``yolo`` reads boxes only (five fields a
line, refusing segmentation lines), its ``label_me`` is MIT LabelMe's XML (not the LabelMe program's JSON) and
its ``common_semantic_segmentation`` wants a ``dataset_meta.json`` the masks export does not ship.
"""

from pathlib import Path

import numpy as np

from backend.exports.contents import ExportedImage
from backend.exports.voc_labels import BACKGROUND, voc_classes
from tests.backend.test_voc_exact import ODD_NAMES
from tests.readers.conftest import Read, Scene, datumaro_read, stored, unpacked_export


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def exported_images(scene: Scene) -> list[ExportedImage]:
    return list(scene.contents().images)


def assert_sizes_are_the_pixels(read: Read, exported: list[ExportedImage]) -> None:
    """Each image where Datumaro finds it, at the recorded (upright) size, which is also the size of its pixels."""
    assert sorted(read.items) == sorted(image.stem for image in exported)
    for image in exported:
        item, upright = read.items[image.stem], [image.image.height, image.image.width]
        assert item["declared_size"] == item["pixel_size"] == upright, (image.file_name, item)
    assert read.items["side"]["pixel_size"] == [600, 400]  # stored 600 wide, shown (and exported) 600 high


def assert_the_block_lies_on_its_pixels(read: Read, block: np.ndarray) -> None:
    """The EXIF-rotated photo's bright block, in the pixels Datumaro decoded, under the mask drawn on it."""
    bright = read.masks[read.items["side"]["pixels"]].min(axis=-1) > 200
    assert iou(bright, block) > 0.98


def test_coco_reads_back_in_datumaro_with_exact_masks_and_promised_polygons(scene: Scene, tmp_path: Path) -> None:
    read = datumaro_read(unpacked_export(scene, "coco", tmp_path), "coco_instances")
    assert read.warnings == []
    assert read.labels == [label.name for label in scene.labels]  # car:parked, background, ünï cødé as they are
    exported = exported_images(scene)
    assert_sizes_are_the_pixels(read, exported)
    kinds = set()
    for image in exported:
        annotations = read.items[image.stem]["annotations"]
        assert sorted({a["id"] for a in annotations}) == sorted(obj.pk for obj in image.objects)
        for obj in image.objects:
            parts = [a for a in annotations if a["id"] == obj.pk]
            assert {a["label"] for a in parts} == {obj.label.name}
            assert all(a["attributes"].get("is_crowd") is False for a in parts)
            (box,) = [a["bbox"] for a in parts if a["type"] == "bbox"]
            assert box == obj.bbox
            shapes = [a for a in parts if a["type"] != "bbox"]
            kind = {a["type"] for a in shapes}
            kinds |= kind
            drawn = np.logical_or.reduce([read.mask(a) for a in shapes])
            if kind == {"mask"}:  # the stored RLE: exact
                assert len(shapes) == 1
                np.testing.assert_array_equal(drawn, stored(obj))
            else:
                assert kind == {"polygon"}, kind
                assert iou(drawn, stored(obj)) >= 0.999, (image.file_name, obj.label.name)
    assert kinds == {"mask", "polygon"}  # both kinds of geometry were read
    (block,) = [obj for obj in scene.side.annotation_objects.all() if obj.label.name == "plain 0"]
    assert_the_block_lies_on_its_pixels(read, stored(block))


def test_voc_reads_back_in_datumaro_with_exact_class_and_instance_masks(scene: Scene, tmp_path: Path) -> None:
    # VOC boxes are 1-based and inclusive; Datumaro reads them as written unless told the VOC convention.
    read = datumaro_read(unpacked_export(scene, "voc", tmp_path), "voc", coordinate_mode="voc-one-based")
    assert read.warnings == []
    classes = voc_classes(scene.labels)
    assert read.labels == [voc.name for voc in classes]
    renamed = dict(ODD_NAMES) | {"car_parked": "car_parked_1"}
    assert read.labels == [BACKGROUND] + [renamed.get(label.name, label.name) for label in scene.labels]
    assert [read.colours[index] for index in range(len(classes))] == [voc.colour for voc in classes]
    name_of = {label.pk: voc.name for label, voc in zip(scene.labels, classes[1:], strict=True)}
    exported = exported_images(scene)
    assert_sizes_are_the_pixels(read, exported)
    for image in exported:
        annotations = read.items[image.stem]["annotations"]
        boxes = [a for a in annotations if a["type"] == "bbox"]
        assert [(a["label"], a["bbox"]) for a in boxes] == [(name_of[o.label_id], o.bbox) for o in image.objects]
        # The instance map: objects painted in creation order, later over earlier (as the canvas shows them).
        instances = np.zeros((image.image.height, image.image.width), np.uint8)
        for number, obj in enumerate(image.objects, start=1):
            instances[stored(obj)] = number
        # Datumaro lists the instances by class, then number: compare them by number (its ``group``).
        masks = sorted((a for a in annotations if a["type"] == "mask"), key=lambda a: a["group"])
        visible = [(n, o) for n, o in enumerate(image.objects, start=1) if (instances == n).any()]
        assert [(a["group"], a["label"]) for a in masks] == [(n, name_of[o.label_id]) for n, o in visible]
        for annotation, (number, _) in zip(masks, visible, strict=True):
            np.testing.assert_array_equal(read.mask(annotation), instances == number)
    (block,) = [obj for obj in scene.side.annotation_objects.all() if obj.label.name == "plain 0"]
    assert_the_block_lies_on_its_pixels(read, stored(block))
