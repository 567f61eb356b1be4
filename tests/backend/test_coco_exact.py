"""COCO exact to the pixel in pycocotools: every exported object decodes to its stored mask, with the ``area`` and
``bbox`` pycocotools computes; COCO read back as pycocotools draws it, RLE kept exactly, legal annotations never
refused (issue 13, defects 1 and 3)."""

import json

import cv2
import numpy as np
import pytest
from pycocotools import mask as coco_mask
from pycocotools.coco import COCO

from backend.annotations.geometry import check_polygons, shape_from_polygons
from backend.annotations.models import AnnotationObject
from backend.annotations.services import object_create, object_create_from_mask, object_update
from backend.exports.coco import ANNOTATIONS_PATH, coco_files
from backend.exports.coco_geometry import coco_area_bbox, coco_polygons_to_mask, mask_to_coco_polygons
from backend.exports.contents import export_contents
from backend.images.models import Image
from ml.postprocess import mask_to_rle, rle_to_mask
from tests.backend.test_coco_import import send
from tests.conftest import World

H, W = 48, 64  # the world's images


def rect(x0: int, y0: int, x1: int, y1: int) -> list[dict]:
    """App polygon (pixel-centre vertices) of the pixels x0..x1 × y0..y1."""
    return [{"outer": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], "holes": []}]


def disc(cx: int, cy: int, radius: int) -> np.ndarray:
    mask = np.zeros((H, W), np.uint8)
    cv2.circle(mask, (cx, cy), radius, 1, -1)
    return mask.astype(bool)


def pixels(*points: tuple[int, int]) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    for x, y in points:
        mask[y, x] = True
    return mask


def exported_coco(world: World, tmp_path) -> COCO:
    images = Image.objects.filter(project=world.project)
    ((path, chunks),) = list(coco_files(export_contents(project=world.project, images=images)))
    assert path == ANNOTATIONS_PATH and not isinstance(chunks, bytes)
    parts = list(chunks)
    assert len(parts) > 3  # written in pieces: header, images, annotations per image
    (tmp_path / "instances.json").write_bytes(b"".join(parts))
    return COCO(str(tmp_path / "instances.json"))


def add_polygons(world: World, polygons: list[dict]) -> AnnotationObject:
    return object_create(
        image=world.batched_image, author=world.users["annotator"], label_id=world.label.pk, polygons=polygons
    )


def add_mask(world: World, mask: np.ndarray) -> AnnotationObject:
    return object_create_from_mask(
        image=world.batched_image, author=world.users["annotator"], label_id=world.spare_label.pk, mask=mask
    )


def assert_exported_exactly(coco: COCO, objects: list[AnnotationObject]) -> None:
    for obj in objects:
        (annotation,) = coco.loadAnns([obj.pk])
        stored = rle_to_mask(obj.mask_rle)
        drawn = coco.annToMask(annotation).astype(bool)
        assert (drawn & stored).sum() / (drawn | stored).sum() >= 0.999, obj.polygons
        np.testing.assert_array_equal(drawn, stored)  # in fact exact, polygons too
        rle = coco.annToRLE(annotation)
        assert annotation["area"] == float(coco_mask.area(rle)) == obj.area
        assert annotation["bbox"] == [float(v) for v in coco_mask.toBbox(rle)] == obj.bbox


def test_small_edge_and_float_polygons_export_exactly(world: World, tmp_path) -> None:
    objects = [
        world.obj,
        add_polygons(world, rect(40, 40, 42, 42)),  # area 9, bbox [40, 40, 3, 3]; was 4 px, [40, 40, 2, 2]
        add_polygons(world, rect(10, 40, 20, 47)),  # touches the bottom edge
        add_polygons(world, rect(50, 5, 63, 12)),  # touches the right edge
        add_polygons(world, [{"outer": [[3.4, 20.6], [12.7, 21.2], [8.2, 30.49]], "holes": []}]),  # float vertices
        add_mask(world, disc(30, 20, 2)),  # radius-2 disc
        add_mask(world, pixels((1, 1))),  # one pixel
        add_mask(world, pixels((5, 1), (6, 1))),  # two
        add_mask(world, pixels((60, 47), (61, 46), (62, 45))),  # three, touching diagonally, in the corner
        add_mask(world, pixels((0, 0), (0, 1), (0, 2))),  # a one-pixel-wide line on the left edge
    ]
    assert objects[1].area == 9 and objects[1].bbox == [40.0, 40.0, 3.0, 3.0]
    coco = exported_coco(world, tmp_path)
    assert_exported_exactly(coco, objects)
    (square,) = coco.loadAnns([objects[1].pk])
    assert square["segmentation"] == [[40.0, 40.0, 43.0, 40.0, 43.0, 43.0, 40.0, 43.0]]  # pixel-edge outline


def test_holes_export_as_rle_and_overlaps_each_exactly(world: World, tmp_path) -> None:
    ring = disc(30, 24, 15) & ~disc(30, 24, 5)
    objects = [add_mask(world, ring), add_mask(world, disc(38, 24, 8)), add_polygons(world, rect(20, 10, 45, 30))]
    coco = exported_coco(world, tmp_path)
    assert_exported_exactly(coco, objects)
    assert isinstance(coco.loadAnns([objects[0].pk])[0]["segmentation"], dict)  # a hole: the stored RLE
    assert isinstance(coco.loadAnns([objects[1].pk])[0]["segmentation"], list)


def test_random_masks_trace_to_exact_pixel_edge_outlines() -> None:
    rng = np.random.default_rng(13)
    for _ in range(200):
        mask = cv2.GaussianBlur(rng.random((30, 40)), (0, 0), float(rng.uniform(0.5, 3))) > rng.uniform(0.4, 0.6)
        mask &= ~(cv2.GaussianBlur(rng.random((30, 40)), (0, 0), 3) > 0.55)  # holes, islands, diagonal touches
        polygons = mask_to_coco_polygons(mask)
        drawn = coco_polygons_to_mask(polygons, 30, 40)
        # Regions touch along edges (diagonal neighbours are apart), so the background is 8-connected: the outlines
        # cover the mask and exactly the background that cannot reach the outside (the holes COCO cannot express).
        outside = np.pad(~mask, 1, constant_values=True).astype(np.uint8)
        count, parts = cv2.connectedComponents(outside, connectivity=8)
        holes = (parts != parts[0, 0])[1:-1, 1:-1] & ~mask
        np.testing.assert_array_equal(drawn, mask | holes)
        if polygons:
            area, bbox = coco_area_bbox(polygons, 30, 40)
            rows, cols = np.nonzero(drawn)
            assert area == drawn.sum() and bbox == [cols.min(), rows.min(), np.ptp(cols) + 1, np.ptp(rows) + 1]


def test_a_coco_square_imports_as_pycocotools_draws_it(world: World) -> None:
    data = coco_document([
        {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[10, 10, 20, 10, 20, 20, 10, 20]]},  # was 121 px
        {"id": 2, "image_id": 1, "category_id": 1, "segmentation": [[30.3, 5.5, 41.7, 9.2, 33.1, 19.9]]},
        {"id": 3, "image_id": 1, "category_id": 1, "segmentation": [[0, 40, 64, 40, 64, 48, 0, 48]]},  # bottom edge
    ])  # fmt: skip
    assert imported(world, data)["created"] == 3
    square, floats, bottom = objects_of(world)
    assert square.area == 100 and square.bbox == [10.0, 10.0, 10.0, 10.0]
    expected = coco_polygons_to_mask([[30.3, 5.5, 41.7, 9.2, 33.1, 19.9]], H, W)
    np.testing.assert_array_equal(rle_to_mask(floats.mask_rle), expected)
    assert bottom.area == 8 * 64 and rle_to_mask(bottom.mask_rle)[47].all()


def coco_document(annotations: list[dict], **image) -> bytes:
    images = [{"id": 1, "file_name": "a.png", "width": W, "height": H, **image}]
    return json.dumps({"images": images, "categories": [{"id": 1, "name": "car"}], "annotations": annotations}).encode()


def imported(world: World, data: bytes) -> dict:
    response = send(world, world.project, data)
    assert response.status_code == 200, response.content
    return response.json()


def objects_of(world: World) -> list[AnnotationObject]:
    return list(world.batched_image.annotation_objects.filter(source="imported").order_by("id"))


def rle_of(mask: np.ndarray, compressed: bool = True) -> dict:
    if compressed:
        return mask_to_rle(mask)
    flat = mask.flatten(order="F").astype(np.int8)
    changes = np.flatnonzero(np.diff(np.concatenate([[0], flat, [1 - flat[-1]]])))
    return {"size": [H, W], "counts": np.diff(np.concatenate([[0], changes])).tolist()}


def test_specks_lines_and_crowds_import_exactly_and_stay_editable(world: World) -> None:
    speck, line = pixels((7, 9)), pixels(*[(x, 30) for x in range(5, 25)])
    bent = pixels(*[(x, 20 + abs(x - 40) // 2) for x in range(30, 50)])
    crowd = disc(50, 10, 6) | disc(20, 40, 4)
    data = coco_document([
        {"id": 1, "image_id": 1, "category_id": 1, "segmentation": rle_of(speck)},  # was "mask is empty"
        {"id": 2, "image_id": 1, "category_id": 1, "segmentation": rle_of(line)},
        {"id": 3, "image_id": 1, "category_id": 1, "segmentation": rle_of(bent, compressed=False)},
        {"id": 4, "image_id": 1, "category_id": 1, "segmentation": rle_of(crowd, compressed=False), "iscrowd": 1},
    ])  # fmt: skip
    assert imported(world, data)["created"] == 4  # the crowd was skipped
    for obj, mask in zip(objects_of(world), [speck, line, bent, crowd], strict=True):
        np.testing.assert_array_equal(rle_to_mask(obj.mask_rle), mask)
        assert obj.area == mask.sum() and obj.polygons
        check_polygons(obj.polygons, W, H)  # an edit may send them back
        drawn = rle_to_mask(shape_from_polygons(obj.polygons, W, H).mask_rle)
        assert (drawn & mask).sum() / (drawn | mask).sum() > 0.6  # the editable shape is the object's
    speck_object = objects_of(world)[0]
    edited = object_update(obj=speck_object, author=world.users["manager"], version=1, polygons=speck_object.polygons)
    np.testing.assert_array_equal(rle_to_mask(edited.mask_rle), speck)  # a 1-px speck survives an edit
    assert imported(world, data)["already_imported"] == 4


@pytest.mark.parametrize("segmentation", [[], None, "missing"])
def test_box_only_annotations_import_as_their_box(world: World, segmentation) -> None:
    annotation = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [12, 8, 20, 10], "segmentation": segmentation}
    if segmentation == "missing":
        del annotation["segmentation"]
    assert imported(world, coco_document([annotation]))["created"] == 1
    (obj,) = objects_of(world)
    assert obj.area == 200 and obj.bbox == [12.0, 8.0, 20.0, 10.0]


def test_geometry_that_cannot_be_placed_is_skipped_with_a_reason(world: World) -> None:
    data = coco_document([
        {"id": 1, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 5, 1]]},
        {"id": 2, "image_id": 1, "category_id": 1, "segmentation": {"size": [10, 10], "counts": [0, 100]}},
        {"id": 3, "image_id": 1, "category_id": 1, "segmentation": {"size": [H, W], "counts": [H * W]}},
        {"id": 4, "image_id": 1, "category_id": 1, "segmentation": []},
        {"id": 5, "image_id": 1, "category_id": 1, "segmentation": [[10, 10, 20, 10, 20, 20]]},
    ])  # fmt: skip
    report = imported(world, data)
    assert report["created"] == 1
    assert report["skipped"] == [
        {"annotation": "Annotation 1", "reason": "a polygon has fewer than 3 points"},
        {"annotation": "Annotation 2", "reason": "its RLE 'size' [10, 10] is not its image's [48, 64]"},
        {"annotation": "Annotation 3", "reason": "its mask is empty"},
        {"annotation": "Annotation 4", "reason": "it has neither a segmentation nor a bbox [x, y, width, height]"},
    ]


def test_a_datumaro_style_coco_file_imports_whole(world: World) -> None:
    """What Datumaro writes from a VOC dataset: full image records, a box-only annotation, masks as crowd RLE with
    uncompressed counts, polygons, ``attributes``, images given by size and the file's relative name."""
    mask = disc(20, 20, 6) & ~pixels((20, 20))
    document = {
        "licenses": [{"name": "", "id": 0, "url": ""}],
        "info": {"contributor": "", "date_created": "", "description": "", "url": "", "version": "", "year": ""},
        "categories": [
            {"id": 1, "name": "car", "supercategory": ""},
            {"id": 2, "name": "person", "supercategory": ""},
        ],
        "images": [
            {
                "id": 1,
                "width": W,
                "height": H,
                "file_name": "a.png",
                "license": 0,
                "flickr_url": "",
                "coco_url": "",
                "date_captured": 0,
            },
        ],  # fmt: skip
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "segmentation": [],
                "area": 60.0,
                "bbox": [2.0, 3.0, 10.0, 6.0],
                "iscrowd": 0,
                "attributes": {"occluded": False},
            },
            {
                "id": 2,
                "image_id": 1,
                "category_id": 2,
                "segmentation": rle_of(mask, compressed=False),
                "area": float(mask.sum()),
                "bbox": [14.0, 14.0, 13.0, 13.0],
                "iscrowd": 1,
                "attributes": {"occluded": False},
            },
            {
                "id": 3,
                "image_id": 1,
                "category_id": 1,
                "segmentation": [[40.0, 30.0, 50.0, 30.0, 50.0, 40.0, 40.0, 40.0]],
                "area": 100.0,
                "bbox": [40.0, 30.0, 10.0, 10.0],
                "iscrowd": 0,
                "attributes": {"occluded": True},
            },
        ],  # fmt: skip
    }
    report = imported(world, json.dumps(document).encode())
    assert report["created"] == 3 and report["skipped"] == [] and report["labels_created"] == ["person"]
    box, masked, square = objects_of(world)
    assert box.area == 60 and box.bbox == [2.0, 3.0, 10.0, 6.0]
    np.testing.assert_array_equal(rle_to_mask(masked.mask_rle), mask)  # its one-pixel hole kept
    assert square.area == 100 and square.bbox == [40.0, 30.0, 10.0, 10.0]
