"""Label masks, LabelMe and YOLO-seg exports read back as their users read them: Pillow for the PNGs, the JSON's
LabelMe field set, YOLO lines rasterised with pycocotools (pixel-edge outlines), against the stored masks."""

import io

import numpy as np
import pytest
import yaml
from PIL import Image as PILImage
from pycocotools import mask as coco_mask

from backend.annotations.models import AnnotationObject
from backend.annotations.services import object_create_from_mask
from backend.exports.coco_geometry import mask_to_coco_polygons
from backend.exports.contents import ExportContents, export_contents
from backend.exports.labelme import labelme_files
from backend.exports.masks import mask_files
from backend.exports.rings import (
    Ring,
    mask_rings,
    object_rings,
    object_runs,
    outer_outlines,
    outer_rings,
    outlines,
    paint_rings,
    painted,
    traced_rings,
)
from backend.exports.stored_crops import stored_crop
from backend.exports.voc_labels import voc_colormap
from backend.exports.yolo import yolo_files
from backend.images.models import Image
from backend.projects.services import label_create
from ml.postprocess import mask_to_rle, rle_to_mask
from tests.conftest import World

H, W = 48, 64  # the world's images
LABELME_FIELDS = {"version", "flags", "shapes", "imagePath", "imageData", "imageHeight", "imageWidth"}
SHAPE_FIELDS = {"label", "points", "group_id", "description", "shape_type", "flags", "mask"}


def holed() -> np.ndarray:
    """A frame with a hole, an island in the hole and a hole in the island."""
    mask = np.zeros((H, W), bool)
    mask[4:40, 20:60] = True
    mask[10:34, 26:54] = False
    mask[15:29, 31:49] = True
    mask[20:24, 38:42] = False
    return mask


def speck(x: int, y: int) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[y, x] = True
    return mask


def two_parts() -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[40:48, 0:6] = True  # touches the bottom and left edges
    mask[30:33, 60:64] = True  # touches the right edge
    return mask


@pytest.fixture
def scene(world: World) -> list[AnnotationObject]:
    """The world's square (car), then over it a holed object (tree), a speck, a two-part object at the borders and
    an object of a third label (index 3) overlapping the square."""
    add = lambda mask, label: object_create_from_mask(  # noqa: E731
        image=world.batched_image, author=world.users["annotator"], label_id=label.pk, mask=mask
    )
    third = label_create(project=world.project, name="car:parked", color="#0000ff")
    overlap = np.zeros((H, W), bool)
    overlap[25:35, 5:15] = True
    objects = [add(holed(), world.spare_label), add(speck(2, 3), world.label), add(two_parts(), world.spare_label)]
    return [world.obj, *objects, add(overlap, third)]


def contents_of(world: World) -> ExportContents:
    return export_contents(project=world.project, images=Image.objects.filter(project=world.project))


def stored(obj: AnnotationObject) -> np.ndarray:
    return rle_to_mask(obj.mask_rle).astype(bool)


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def test_rings_paint_back_to_random_masks_exactly() -> None:
    rng = np.random.default_rng(13)
    for density in (0.0, 0.01, 0.2, 0.5, 0.8):
        for _ in range(30):
            mask = rng.random((17, 23)) < density
            assert (paint_rings(mask_rings(mask), 17, 23) == mask).all()
            crop, x0, y0 = stored_crop(mask_to_rle(mask))
            placed = np.zeros_like(mask)
            placed[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]] = crop
            assert (placed == mask).all() and (crop.size == 0 or (crop[0].any() and crop[:, 0].any()))
    rings = mask_rings(holed())
    assert [ring.hole for ring in rings] == [False, True, False, True]  # painting order: enclosing rings first


def random_masks(rng: np.random.Generator, height: int, width: int) -> list[np.ndarray]:
    """Speckle at several densities (holes, islands, pixels touching diagonally), full columns (runs across
    columns), rings (a hole each), a lone pixel and an empty mask, all touching the borders somewhere."""
    y, x = np.mgrid[0:height, 0:width]
    masks = [rng.random((height, width)) < density for density in (0.05, 0.3, 0.6, 0.9)]
    full = np.zeros((height, width), bool)
    full[:, 2:9] = True
    full[rng.integers(0, height, 4), rng.integers(2, 9, 4)] = False
    distance = (x - rng.uniform(0, width)) ** 2 + (y - rng.uniform(0, height)) ** 2
    ring = (distance < rng.uniform(30, 200)) & (distance > rng.uniform(2, 25))
    masks += [full, ring, speck(int(rng.integers(0, width)), int(rng.integers(0, height))), np.zeros_like(full)]
    return [mask[:height, :width] for mask in masks]


def test_runs_trace_and_paint_exactly_as_the_decoded_masks_do() -> None:
    """The exports' fast paths (every object of an image traced and painted from its stored runs at once) against
    the reference ones: coco_geometry's trace, object_rings/outer_rings, painting the decoded masks in order."""
    rng = np.random.default_rng(7)
    for _ in range(40):
        masks = random_masks(rng, H, W)
        rles = [mask_to_rle(mask) for mask in masks]
        runs = object_runs(rles)
        traced = traced_rings(runs)
        for number, (mask, rle, rings) in enumerate(zip(masks, rles, traced, strict=True)):
            outers = [corners.astype(float).ravel().tolist() for corners, twice in rings if twice > 0]
            assert outers == mask_to_coco_polygons(mask)
            assert [corners.astype(float).ravel().tolist() for corners in outer_outlines(rings)] == outer_rings(rle)
            crop, expected_crop = runs.crop(number), stored_crop(rle)
            assert crop[1:] == expected_crop[1:] and (crop[0] == expected_crop[0]).all()
        for rle, rings in zip(rles, outlines(runs, traced), strict=True):
            fast = [(corners.astype(float).ravel().tolist(), hole) for corners, hole in rings]
            assert fast == [(ring.points, ring.hole) for ring in object_rings(rle)]
        expected = np.zeros((H, W), np.int64)
        for number, mask in enumerate(masks, start=1):
            expected[mask] = 10 * number
        values = [10 * number for number in range(1, len(masks) + 1)]
        assert (painted(runs, values, H, W, np.int64) == expected).all()
        taller = painted(runs, values, H + 1, W, np.int64)  # another height: painted run by run
        assert (taller[:H] == expected).all() and not taller[H].any()
        first_two = np.where(masks[1], 20, np.where(masks[0], 10, 0))
        assert (painted(runs.first(2), values, H, W, np.int64) == first_two).all()


def test_masks_are_label_indices_with_later_objects_on_top_and_the_voc_palette(world: World, scene) -> None:
    files = dict(mask_files(contents_of(world)))
    assert set(files) == {"masks/a.png", "masks/b.png", "pseudo_color/a.png", "pseudo_color/b.png", "labels.txt"}
    assert files["labels.txt"].decode().splitlines() == ["background", "car", "tree", "car:parked"]
    gray = PILImage.open(io.BytesIO(files["masks/a.png"]))
    pseudo = PILImage.open(io.BytesIO(files["pseudo_color/a.png"]))
    assert gray.mode == "L" and pseudo.mode == "P" and gray.size == pseudo.size == (W, H)
    gray, indices = np.array(gray), np.array(pseudo)
    np.testing.assert_array_equal(gray, indices)
    expected = np.zeros((H, W), np.uint8)
    for obj, index in zip(scene, [1, 2, 1, 2, 3], strict=True):
        expected[stored(obj)] = index  # in creation order: later over earlier
    np.testing.assert_array_equal(gray, expected)
    square, ring, overlap = stored(scene[0]), stored(scene[1]), stored(scene[4])
    assert (gray[square & ring] == 2).any() and (gray[square & overlap] == 3).all()
    palette = pseudo.getpalette()
    assert [tuple(palette[3 * i : 3 * i + 3]) for i in range(4)] == [voc_colormap(i) for i in range(4)]
    assert palette[:12] == [0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0]  # VOC's background, 1, 2, 3
    assert not np.array(PILImage.open(io.BytesIO(files["masks/b.png"]))).any()  # the image without objects


def test_labelme_json_has_the_field_set_and_paints_back_to_each_object(world: World, scene) -> None:
    import json

    files = dict(labelme_files(contents_of(world)))
    assert set(files) == {"images/a.json", "images/b.json"}
    document = json.loads(files["images/a.json"])
    assert set(document) == LABELME_FIELDS
    assert document["imagePath"] == "a.png" and document["imageData"] is None
    assert (document["imageHeight"], document["imageWidth"]) == (H, W) and document["flags"] == {}
    shapes = document["shapes"]
    assert all(set(shape) == SHAPE_FIELDS for shape in shapes)
    assert {shape["shape_type"] for shape in shapes} == {"polygon"} and {s["mask"] for s in shapes} == {None}
    assert [s["group_id"] for s in shapes] == sorted(s["group_id"] for s in shapes)  # objects in creation order
    for number, obj in enumerate(scene, start=1):
        group = [shape for shape in shapes if shape["group_id"] == number]
        assert {shape["label"] for shape in group} == {obj.label.name}
        rings = [Ring([v for p in s["points"] for v in p], bool(s["flags"].get("hole"))) for s in group]
        np.testing.assert_array_equal(paint_rings(rings, H, W), stored(obj))  # exact, holes and specks included
    holes = [s for s in shapes if s["flags"]]
    assert [(s["group_id"], s["description"], s["flags"]) for s in holes] == [(2, "hole", {"hole": True})] * 2
    (speck_shape,) = [s for s in shapes if s["group_id"] == 3]
    assert speck_shape["points"] == [[2.0, 3.0], [3.0, 3.0], [3.0, 4.0], [2.0, 4.0]]  # pixel-edge outline
    assert json.loads(files["images/b.json"])["shapes"] == []


def yolo_masks(text: str) -> list[tuple[int, np.ndarray]]:
    """Each line as YOLO tools read it: class and the polygon scaled to the image, drawn by pycocotools."""
    drawn = []
    for line in text.splitlines():
        index, *values = line.split()
        xy = np.array(values, float).reshape(-1, 2) * [W, H]
        assert ((np.array(values, float) >= 0) & (np.array(values, float) <= 1)).all()
        rle = coco_mask.frPyObjects([xy.ravel().tolist()], H, W)
        drawn.append((int(index), coco_mask.decode(coco_mask.merge(rle)).astype(bool)))
    return drawn


def test_yolo_lines_rasterise_back_to_the_stored_masks(world: World, scene) -> None:
    files = dict(yolo_files(contents_of(world)))
    assert set(files) == {"labels/a.txt", "labels/b.txt", "data.yaml"}
    data = yaml.safe_load(files["data.yaml"])
    assert data == {"path": ".", "train": "images", "val": "images", "names": {0: "car", 1: "tree", 2: "car:parked"}}
    assert files["labels/b.txt"] == b""
    lines = yolo_masks(files["labels/a.txt"].decode())
    # One line per outer ring: square, the frame and its island, the speck, two parts, the overlap.
    assert [index for index, _ in lines] == [0, 1, 1, 0, 1, 1, 2]
    square, frame, island, dot, part1, part2, overlap = (mask for _, mask in lines)
    assert iou(square, stored(scene[0])) >= 0.99 and iou(overlap, stored(scene[4])) >= 0.99
    filled = stored(scene[1]) | (frame & ~stored(scene[1]))  # YOLO has no holes: the frame comes back filled
    assert iou(frame, filled) == 1.0 and (island <= filled).all()
    assert (island & ~stored(scene[1])).sum() == 16  # the island's own hole, filled too
    assert (dot == speck(2, 3)).all()
    assert iou(part1 | part2, stored(scene[3])) == 1.0 and part1[47, 0] and part2[31, 63]  # border pixels kept


def test_yolo_names_survive_odd_label_names(world: World) -> None:
    for name in ["yes", "null", "#1", "a: b", "'quoted'", "ünï"]:
        label_create(project=world.project, name=name)
    names = yaml.safe_load(dict(yolo_files(contents_of(world)))["data.yaml"])["names"]
    assert list(names.values()) == ["car", "tree", "yes", "null", "#1", "a: b", "'quoted'", "ünï"]


@pytest.mark.parametrize(
    ("fmt", "entries"),
    [
        ("masks", {"masks/a.png", "pseudo_color/a.png", "labels.txt"}),
        ("labelme", {"images/a.json", "images/b.json"}),
        ("yolo", {"labels/a.txt", "labels/b.txt", "data.yaml"}),
    ],
)
def test_archives_hold_the_images_next_to_each_format_s_files(world: World, scene, tmp_path, fmt, entries) -> None:
    import zipfile

    from backend.exports.archive import write_archive
    from backend.exports.formats import FORMATS

    write_archive(contents_of(world), FORMATS[fmt], include_images=True, destination=tmp_path / "export.zip")
    names = set(zipfile.ZipFile(tmp_path / "export.zip").namelist())
    assert entries | {"images/a.png", "images/b.png"} <= names


@pytest.mark.parametrize("fmt", ["masks", "voc", "labelme", "yolo"])
def test_a_pixel_budget_splits_batches_and_changes_no_byte(world: World, scene, monkeypatch, fmt: str) -> None:
    from backend.exports import rows
    from backend.exports.formats import FORMATS

    contents = contents_of(world)
    assert [len(batch.images) for batch in rows.batches(contents)] == [2]
    whole = dict(FORMATS[fmt].files(contents))
    monkeypatch.setattr(rows, "BATCH_PIXELS", 1)  # every image is a batch of its own
    assert [len(batch.images) for batch in rows.batches(contents)] == [1, 1]
    assert dict(FORMATS[fmt].files(contents_of(world))) == whole


def test_painted_maps_waiting_for_compression_stay_within_the_pixel_budget(monkeypatch) -> None:
    from backend.exports import masks

    monkeypatch.setattr(masks, "PENDING_PIXELS", 25)
    made: list[int] = []

    def jobs():
        for number in range(6):
            made.append(number)
            yield (lambda number=number: [(f"{number}.png", b"")]), 10

    seen = []
    for name, _ in masks.in_worker(jobs()):
        seen.append((name, len(made)))
    # Three jobs of 10 pixels exceed 25: the first is finished before a fourth is painted.
    assert seen == [("0.png", 3), ("1.png", 4), ("2.png", 5), ("3.png", 6), ("4.png", 6), ("5.png", 6)]
