"""Training data: the three readers, the augmentation, RITM's click sampler and the training dataset."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from ml.data.augment import AugmentParams, augment
from ml.data.click_dataset import ClickTrainingDataset, PooledObject
from ml.data.points_sampler import SamplerParams, border_ring, sample_points
from ml.data.sources import DatasetSpec, index_objects, open_instance_dataset, split_objects
from ml.data.yolo_seg import parse_polygons
from ml.paths import shared_dir


def _write_png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), array)


def _square_image(size: tuple[int, int] = (60, 80)) -> tuple[np.ndarray, np.ndarray]:
    image = np.random.default_rng(0).integers(0, 255, (*size, 3), dtype=np.uint8)
    mask = np.zeros(size, dtype=np.uint8)
    mask[20:40, 30:60] = 255
    return image, mask


def test_mask_folder_reader(tmp_path: Path) -> None:
    image, mask = _square_image()
    _write_png(tmp_path / "images" / "a.png", image)
    _write_png(tmp_path / "masks" / "a.png", mask)
    reader = open_instance_dataset(DatasetSpec("mask_folder", str(tmp_path)))
    item = reader[0]
    assert item.masks.shape == (1, 60, 80) and item.masks[0].sum() == 600
    assert reader.object_areas(0) == [600.0] and reader.image_name(0) == "a"


def test_yolo_seg_reader_rasterises_polygons(tmp_path: Path) -> None:
    image, _ = _square_image()
    _write_png(tmp_path / "images" / "train" / "a.png", image)
    (tmp_path / "labels" / "train").mkdir(parents=True)
    # a rectangle over columns 20..60 and rows 15..45 of the 80×60 image
    (tmp_path / "labels" / "train" / "a.txt").write_text("3 0.25 0.25 0.75 0.25 0.75 0.75 0.25 0.75\n")
    (tmp_path / "labels" / "train" / "orphan.txt").write_text("1 0 0 1 0 1 1\n")
    reader = open_instance_dataset(DatasetSpec("yolo_seg", str(tmp_path), split="train"))
    assert len(reader) == 1 and reader.unmatched_labels == ["orphan.txt"]
    item = reader[0]
    assert item.masks.shape == (1, 60, 80)
    assert abs(int(item.masks[0].sum()) - 40 * 30) < 100
    assert reader.object_areas(0) == pytest.approx([40 * 30])


def test_yolo_seg_bad_line_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="labels.txt:2: a polygon needs"):
        parse_polygons("0 0 0 1 0 1 1\n0 0.5 0.5\n", "labels.txt")


def test_coco_json_reader_with_crowd_ignored(tmp_path: Path) -> None:
    image, _ = _square_image()
    _write_png(tmp_path / "img" / "a.png", image)
    coco = {
        "images": [{"id": 1, "file_name": "a.png", "height": 60, "width": 80}],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 400.0, "bbox": [10, 10, 20, 20],
             "segmentation": [[10, 10, 30, 10, 30, 30, 10, 30]]},
            {"id": 2, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 100.0, "bbox": [50, 40, 10, 10],
             "segmentation": [[50, 40, 60, 40, 60, 50, 50, 50]]},
            {"id": 3, "image_id": 1, "category_id": 1, "iscrowd": 1, "area": 50.0, "bbox": [0, 50, 10, 5],
             "segmentation": [[0, 50, 10, 50, 10, 55, 0, 55]]},
        ],
    }  # fmt: skip
    (tmp_path / "ann.json").write_text(json.dumps(coco))
    reader = open_instance_dataset(DatasetSpec("coco_json", str(tmp_path / "ann.json"), images=str(tmp_path / "img")))
    item = reader[0]
    assert item.masks.shape == (2, 60, 80) and item.ignore.sum() > 0 and not (item.ignore & item.masks.any(0)).any()
    assert index_objects(reader, 200) == [index_objects(reader, 0)[0]]
    with pytest.raises(ValueError, match="'images'"):
        open_instance_dataset(DatasetSpec("coco_json", str(tmp_path / "ann.json")))


def test_shared_training_sets_open_and_split_by_image() -> None:
    root = shared_dir() / "data" / "train"
    reader = open_instance_dataset(DatasetSpec("yolo_seg", str(root / "coco128-seg")))
    objects = index_objects(reader, 1000)
    train, validation = split_objects(reader, objects, 0.2)
    assert len(train) + len(validation) == len(objects) > 300
    held_out_images = {reader.image_name(r.image_index) for r in validation}
    assert held_out_images and not held_out_images & {reader.image_name(r.image_index) for r in train}


def test_augment_crops_to_size_and_keeps_the_target() -> None:
    image, mask = _square_image((100, 90))
    target = mask > 0
    for seed in range(5):
        out = augment(
            image, target, np.zeros_like(target), np.zeros_like(target), AugmentParams(), np.random.default_rng(seed)
        )
        assert out.image.shape == (320, 480, 3) and out.image.dtype == np.uint8
        assert out.target.shape == (320, 480) and out.target.any()


def test_sampler_clicks_fall_in_the_right_regions() -> None:
    target = np.zeros((80, 80), bool)
    target[20:60, 20:60] = True
    others = np.zeros_like(target)
    others[0:10, 0:30] = True
    valid = np.ones_like(target)
    for seed in range(10):
        points = sample_points(target, others, valid, SamplerParams(max_points=6), np.random.default_rng(seed))
        assert points.shape == (13, 3)
        used = points[points[:, 2] >= 0]
        positive, negative = used[used[:, 2] == 1], used[used[:, 2] == 0]
        assert len(positive) >= 1 and target[positive[:, 1], positive[:, 0]].all()  # rows are (x, y, positive)
        assert not target[negative[:, 1], negative[:, 0]].any()
        assert (points[len(used) :] == -1).all()
    ring = border_ring(target)
    assert ring.any() and not (ring & target).any()


def test_training_dataset_items(tmp_path: Path) -> None:
    image, mask = _square_image()
    _write_png(tmp_path / "images" / "a.png", image)
    _write_png(tmp_path / "masks" / "a.png", mask)
    reader = open_instance_dataset(DatasetSpec("mask_folder", str(tmp_path)))
    objects = [PooledObject(0, ref) for ref in index_objects(reader, 1)]
    dataset = ClickTrainingDataset([reader], objects, 4, AugmentParams(crop_size=(48, 64)))
    item = dataset[1]
    assert item["image"].shape == (3, 48, 64) and item["mask"].shape == (1, 48, 64)
    assert item["mask"].max() == 1 and item["points"].shape[1] == 3
    assert (dataset[1]["points"] == item["points"]).all()  # a pure function of the index
