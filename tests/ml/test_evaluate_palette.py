"""Palette (Pillow mode ``P``) ground-truth masks, as DAVIS and Pascal VOC ship them, in evaluation and training.

The masks are written with Pillow: palette indices are the labels (0 background, 1..254 objects, 255 void)
and the palette colours must never be looked at.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from ml.data.sources import DatasetSpec, index_objects, open_instance_dataset
from ml.evaluate import main as evaluate_main
from ml.evaluation.clicker import Clicker
from ml.evaluation.folder import FolderDataset
from ml.evaluation.images import read_object_mask
from ml.evaluation.runner import evaluate_sample

HEIGHT, WIDTH = 40, 56
VOID = 255


def voc_palette() -> list[int]:
    """Pascal VOC's colour map (index 1 = dark red, 2 = dark green, ..., 255 = cream)."""
    palette: list[int] = []
    for index in range(256):
        red = green = blue = 0
        value = index
        for bit in range(8):
            red |= ((value >> 0) & 1) << (7 - bit)
            green |= ((value >> 1) & 1) << (7 - bit)
            blue |= ((value >> 2) & 1) << (7 - bit)
            value >>= 3
        palette += [red, green, blue]
    return palette


# Index → grey value 40, 250, 10, 130: neither colours nor their brightness follow the index order.
DAVIS_PALETTE = [40, 40, 40, 250, 250, 250, 10, 10, 10, 130, 130, 130] + [0, 0, 0] * 252


def write_palette_png(path: Path, indices: np.ndarray, palette: list[int]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.frombytes("P", (indices.shape[1], indices.shape[0]), np.ascontiguousarray(indices, np.uint8))
    image.putpalette(palette)
    image.save(path)
    with Image.open(path) as saved:
        assert saved.mode == "P"


def write_image(path: Path, indices: np.ndarray) -> None:
    """An RGB photo whose objects are distinct flat colours on a textured background."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    image = rng.integers(90, 110, (*indices.shape, 3), dtype=np.uint8)
    colours = {1: (220, 30, 30), 2: (30, 200, 40), 3: (30, 40, 220)}
    for index, colour in colours.items():
        image[indices == index] = colour
    assert cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


def voc_indices() -> np.ndarray:
    """Two instances, each surrounded by a 2-pixel void (255) band as VOC draws it."""
    indices = np.zeros((HEIGHT, WIDTH), np.uint8)
    indices[6:20, 5:21] = 1
    indices[22:36, 30:50] = 2
    objects = (indices > 0).astype(np.uint8)
    band = cv2.dilate(objects, np.ones((5, 5), np.uint8)).astype(bool) & ~objects.astype(bool)
    indices[band] = VOID
    return indices


def davis_indices(present: tuple[int, ...] = (1, 2, 3)) -> np.ndarray:
    indices = np.zeros((HEIGHT, WIDTH), np.uint8)
    boxes = {1: (4, 16, 4, 18), 2: (20, 34, 6, 22), 3: (10, 30, 30, 50)}
    for index in present:
        top, bottom, left, right = boxes[index]
        indices[top:bottom, left:right] = index
    return indices


@pytest.fixture
def palette_folder(tmp_path: Path) -> Path:
    """``images/`` + ``masks/`` with a VOC mask, two DAVIS frames (all objects, objects 1 and 3) and an empty frame."""
    frames = {
        "voc": (voc_indices(), voc_palette()),
        "davis_a": (davis_indices(), DAVIS_PALETTE),
        "davis_b": (davis_indices((1, 3)), DAVIS_PALETTE),
        "davis_empty": (davis_indices(()), DAVIS_PALETTE),
    }
    for stem, (indices, palette) in frames.items():
        write_image(tmp_path / "images" / f"{stem}.jpg", indices)
        write_palette_png(tmp_path / "masks" / f"{stem}.png", indices, palette)
    return tmp_path


def test_voc_mask_gives_one_sample_per_instance_with_255_ignored(palette_folder: Path) -> None:
    dataset = FolderDataset(palette_folder)
    samples = {dataset[i].name: dataset[i] for i in range(len(dataset))}
    indices = voc_indices()
    for index in (1, 2):
        sample = samples[f"voc#{index}"]
        np.testing.assert_array_equal(sample.mask, indices == index)
        np.testing.assert_array_equal(sample.ignore, indices == VOID)
        assert sample.image.shape == (HEIGHT, WIDTH, 3)


def test_davis_masks_give_one_sample_per_index_present(palette_folder: Path) -> None:
    dataset = FolderDataset(palette_folder)
    names = [dataset[i].name for i in range(len(dataset))]
    assert names == ["davis_a#1", "davis_a#2", "davis_a#3", "davis_b#1", "davis_b#3", "voc#1", "voc#2"]
    indices = davis_indices()
    for position, index in enumerate((1, 2, 3)):
        sample = dataset[position]
        np.testing.assert_array_equal(sample.mask, indices == index)
        assert not sample.ignore.any()


def test_palette_file_as_one_object_is_every_index_but_0_and_255(palette_folder: Path) -> None:
    mask, ignore = read_object_mask(palette_folder / "masks" / "voc.png")
    indices = voc_indices()
    np.testing.assert_array_equal(mask, (indices > 0) & (indices != VOID))
    np.testing.assert_array_equal(ignore, indices == VOID)


class FixedSession:
    """Answers every click with the same probability map."""

    def __init__(self, probs: np.ndarray) -> None:
        self.probs = probs.astype(np.float32)

    def set_image(self, image: np.ndarray) -> None:
        assert image.shape[:2] == self.probs.shape

    def add_click(self, x: int, y: int, positive: bool) -> np.ndarray:
        return self.probs


def test_void_band_counts_neither_in_iou_nor_as_a_click(palette_folder: Path) -> None:
    dataset = FolderDataset(palette_folder)
    sample = next(dataset[i] for i in range(len(dataset)) if dataset[i].name == "voc#1")
    spill = sample.mask | sample.ignore  # a prediction that covers the object and the whole void band
    result = evaluate_sample(FixedSession(spill), sample, max_clicks=5)
    assert result.ious == [1.0]
    assert Clicker(sample.mask, sample.ignore).next_click(spill) is None


def test_evaluate_cli_runs_grabcut_over_palette_masks(palette_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "noc.json"
    args = ["--model", "grabcut", "--dataset", str(palette_folder), "--max-clicks", "2", "--quiet"]
    assert evaluate_main([*args, "--json", str(out)]) == 0
    summary = json.loads(out.read_text())
    assert summary["num_samples"] == 7
    assert summary["miou_per_click"][-1] > 0.5


def test_training_mask_folder_reads_palette_instances(palette_folder: Path) -> None:
    reader = open_instance_dataset(DatasetSpec("mask_folder", str(palette_folder)))
    assert [reader.image_name(i) for i in range(len(reader))] == ["davis_a", "davis_b", "davis_empty", "voc"]
    item = reader[3]
    indices = voc_indices()
    assert item.masks.shape == (2, HEIGHT, WIDTH)
    np.testing.assert_array_equal(item.masks[1], indices == 2)
    np.testing.assert_array_equal(item.ignore, indices == VOID)
    assert reader.object_areas(3) == [float((indices == 1).sum()), float((indices == 2).sum())]
    assert reader.object_areas(2) == [] and reader[2].masks.shape == (0, HEIGHT, WIDTH)
    assert len(index_objects(reader, min_area=1)) == 3 + 2 + 2


@pytest.mark.parametrize("value", [1, 255])
def test_greyscale_masks_stay_one_object_per_file(tmp_path: Path, value: int) -> None:
    indices = davis_indices((1,))
    write_image(tmp_path / "images" / "m.jpg", indices)
    (tmp_path / "masks").mkdir()
    Image.fromarray(np.where(indices > 0, value, 0).astype(np.uint8)).save(tmp_path / "masks" / "m.png")
    dataset = FolderDataset(tmp_path)
    assert len(dataset) == 1
    sample = dataset[0]
    assert sample.name == "m" and not sample.ignore.any()
    np.testing.assert_array_equal(sample.mask, indices > 0)


def test_two_colour_palette_mask_is_index_1_not_the_colour(tmp_path: Path) -> None:
    # What PNG optimisers make of a black/white mask, here with white at index 0 and black at index 1.
    indices = davis_indices((1,))
    write_image(tmp_path / "images" / "m.png", indices)
    write_palette_png(tmp_path / "masks" / "m.png", indices, [255, 255, 255, 0, 0, 0])
    dataset = FolderDataset(tmp_path)
    assert [dataset[i].name for i in range(len(dataset))] == ["m#1"]
    np.testing.assert_array_equal(dataset[0].mask, indices == 1)
