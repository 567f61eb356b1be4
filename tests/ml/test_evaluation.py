"""NoC harness: click simulator, NoC/drops arithmetic, dataset readers, GrabCut baseline and the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools import mask as coco_mask

from ml.evaluate import main as evaluate_main
from ml.evaluation import metrics
from ml.evaluation.clicker import Clicker, deepest_error_click
from ml.evaluation.coco import CocoDataset
from ml.evaluation.folder import FolderDataset
from ml.evaluation.grabcut import GrabCutSession
from ml.evaluation.images import read_object_mask, read_rgb
from ml.evaluation.report import summarize
from ml.evaluation.runner import evaluate_dataset, evaluate_sample
from ml.evaluation.sample import Sample
from ml.inference.clicks import Click

REPO_DIR = Path(__file__).resolve().parents[2]
SHARED_DIR = Path(os.environ.get("EDGEFLOW_SHARED_DIR", REPO_DIR.parent / "shared"))
BENCH = SHARED_DIR / "data" / "bench"
REQUIRED_KEYS = {"noc85", "noc90", "fail90", "miou_per_click", "spc", "num_samples", "model", "dataset", "drops"}


def bench(name: str) -> Path:
    path = BENCH / name
    if not path.is_dir():
        pytest.fail(f"benchmark {path} not found (set EDGEFLOW_SHARED_DIR)")
    return path


def square(height: int, width: int, top: int, left: int, size: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=bool)
    mask[top : top + size, left : left + size] = True
    return mask


def first_click(mask: np.ndarray, pred: np.ndarray | None = None, ignore: np.ndarray | None = None) -> Click | None:
    return Clicker(mask, ignore).next_click(np.zeros_like(mask) if pred is None else pred)


# ----------------------------------------------------------------------------- click simulator
def test_first_click_is_the_deepest_point_of_the_object() -> None:
    assert first_click(square(40, 50, 10, 20, 9)) == Click(y=14, x=24, positive=True)


def test_image_border_counts_as_outside_thanks_to_padding() -> None:
    # Without RITM's 1-pixel padding the deepest point of a corner object would sit on the border.
    assert first_click(square(40, 50, 0, 0, 9)) == Click(y=4, x=4, positive=True)


def test_ties_take_the_first_pixel_in_row_major_order() -> None:
    mask = np.zeros((20, 30), dtype=bool)
    mask[5:9, 3:25] = True  # 4 rows: depth 2 on rows 6 and 7, columns 4..23
    assert first_click(mask) == Click(y=6, x=4, positive=True)


def test_larger_false_positive_region_gives_a_negative_click() -> None:
    mask = square(60, 60, 5, 5, 10)
    pred = mask | square(60, 60, 30, 30, 21)
    pred[8, 8] = False  # a one-pixel false negative, much shallower than the false positive
    assert first_click(mask, pred) == Click(y=40, x=40, positive=False)


def test_larger_false_negative_region_gives_a_positive_click() -> None:
    mask = square(60, 60, 10, 10, 31)
    pred = mask & ~square(60, 60, 10, 10, 15) | square(60, 60, 50, 50, 3)
    assert first_click(mask, pred) == Click(y=17, x=17, positive=True)


def test_equal_depths_give_a_negative_click() -> None:
    mask = square(40, 40, 2, 2, 5)
    pred = square(40, 40, 20, 20, 5)
    assert first_click(mask, pred) == Click(y=22, x=22, positive=False)


def test_ignored_pixels_are_never_clicked() -> None:
    mask = square(60, 60, 10, 10, 40)
    ignore = np.zeros_like(mask)
    ignore[:, :32] = True  # hides the object's centre and its left part
    click = first_click(mask, ignore=ignore)
    assert click is not None and not ignore[click.y, click.x]
    assert click == Click(y=18, x=40, positive=True)  # first deepest point of the visible part (cols 32..49)


def test_error_only_inside_the_ignore_band_leaves_nothing_to_click() -> None:
    mask = square(60, 60, 20, 20, 20)
    band = cv2.dilate(mask.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool) & ~cv2.erode(
        mask.astype(np.uint8), np.ones((7, 7), np.uint8)
    ).astype(bool)
    pred = (mask | band) & ~(band & mask)  # wrong everywhere in the band, right elsewhere
    assert first_click(mask, pred, band) is None


def test_a_pixel_is_never_clicked_twice() -> None:
    mask = square(30, 30, 10, 10, 3)
    clicker = Clicker(mask)
    empty = np.zeros_like(mask)
    clicks = [clicker.next_click(empty) for _ in range(9)]
    assert len({(c.y, c.x) for c in clicks if c is not None}) == 9
    assert clicker.next_click(empty) is None


def test_deepest_error_click_respects_the_not_clicked_map() -> None:
    region = square(20, 20, 5, 5, 5)
    not_clicked = np.ones((20, 20), np.float32)
    not_clicked[7, 7] = 0.0
    click = deepest_error_click(region, np.zeros_like(region), not_clicked)
    assert click is not None and (click.y, click.x) != (7, 7) and click.positive


# ----------------------------------------------------------------------------- harness arithmetic
OBJECT = np.zeros((24, 30), dtype=bool)
OBJECT[4:, :20] = True  # 400 object pixels, deepest at row 13, column 9


def covering(fraction: float) -> np.ndarray:
    """A probability map whose thresholded mask covers round(400 × fraction) object pixels: IoU = fraction."""
    flat = np.zeros(OBJECT.size, dtype=np.float32)
    flat[np.flatnonzero(OBJECT)[: round(400 * fraction)]] = 0.9
    return flat.reshape(OBJECT.shape)


class ScriptedSession:
    """A test double of the session whose outputs give a prescribed IoU sequence."""

    def __init__(self, ious: list[float]) -> None:
        self.ious = ious
        self.calls: list[tuple[int, int, bool]] = []
        self.images = 0

    def set_image(self, image: np.ndarray) -> None:
        self.images += 1
        self.calls = []

    def add_click(self, x: int, y: int, positive: bool) -> np.ndarray:
        self.calls.append((x, y, positive))
        return covering(self.ious[min(len(self.calls), len(self.ious)) - 1])


def object_sample(name: str = "strip") -> Sample:
    image = np.zeros((*OBJECT.shape, 3), dtype=np.uint8)
    return Sample(name=name, image=image, mask=OBJECT, ignore=np.zeros_like(OBJECT))


def test_session_receives_x_as_column_and_y_as_row() -> None:
    session = ScriptedSession([0.5])
    evaluate_sample(session, object_sample(), max_clicks=1)
    assert session.images == 1
    assert session.calls == [(9, 13, True)]


def test_noc_and_drops_arithmetic() -> None:
    script = [0.50, 0.86, 0.92, 0.80, 0.95, 0.91] + [0.93] * 14
    result = evaluate_sample(ScriptedSession(script), object_sample(), max_clicks=20)
    assert result.ious == pytest.approx(script)
    assert metrics.clicks_to_reach(result.ious, 0.85, 20) == 2
    assert metrics.clicks_to_reach(result.ious, 0.90, 20) == 3
    assert metrics.drops(result.ious) == 1  # 0.92 → 0.80 counts, 0.95 → 0.91 (4 points) does not


def test_a_sample_that_never_reaches_the_target_counts_as_max_clicks() -> None:
    session = ScriptedSession([0.88])
    results = [evaluate_sample(session, object_sample(), max_clicks=20) for _ in range(2)]
    assert len(results[0].ious) == 20
    summary = summarize(results, model="scripted", dataset="toy", max_clicks=20)
    assert summary["noc85"] == 1.0 and summary["noc90"] == 20.0 and summary["fail90"] == 2


def test_summary_mixes_samples_as_ritm() -> None:
    good = evaluate_sample(ScriptedSession([0.50, 0.86, 0.92, 0.80, 0.95]), object_sample("a"), max_clicks=5)
    late = evaluate_sample(ScriptedSession([0.3, 0.6, 0.7, 0.8, 0.9]), object_sample("b"), max_clicks=5)
    summary = summarize([good, late], model="scripted", dataset="toy", max_clicks=5)
    assert summary["noc85"] == pytest.approx((2 + 5) / 2)
    assert summary["noc90"] == pytest.approx((3 + 5) / 2)
    assert summary["fail90"] == 0 and summary["at_max"]["90"] == 1  # RITM's ≥max count includes the 5th click
    assert summary["miou_per_click"] == pytest.approx([0.4, 0.73, 0.81, 0.8, 0.925])
    assert summary["drops"] == pytest.approx(0.5)
    assert summary["num_samples"] == 2 and summary.keys() >= REQUIRED_KEYS


def test_early_stop_carries_the_last_iou_forward() -> None:
    result = evaluate_sample(ScriptedSession([0.5, 0.95, 0.2]), object_sample(), max_clicks=20, stop_iou=0.9)
    assert result.ious == pytest.approx([0.5, 0.95])
    assert metrics.miou_per_click([result.ious], 4) == pytest.approx([0.5, 0.95, 0.95, 0.95])


def test_a_perfect_prediction_stops_the_sample() -> None:
    result = evaluate_sample(ScriptedSession([1.0]), object_sample(), max_clicks=20)
    assert result.ious == [1.0]
    assert metrics.noc([result.ious], 0.9, 20) == 1.0


def test_iou_excludes_ignored_pixels() -> None:
    mask = square(10, 10, 0, 0, 4)
    ignore = square(10, 10, 4, 0, 2)
    pred = mask | ignore
    assert metrics.iou(pred, mask, ignore) == 1.0
    assert metrics.iou(pred, mask) == pytest.approx(16 / 20)


# ----------------------------------------------------------------------------- dataset readers
def test_grabcut_bench_reads_50_samples_with_the_128_band_ignored() -> None:
    root = bench("grabcut")
    dataset = FolderDataset(root)
    assert len(dataset) == 50
    with_band = 0
    for index in range(len(dataset)):
        sample = dataset[index]
        raw = cv2.imread(str(dataset.pairs[index][1]), cv2.IMREAD_UNCHANGED)
        assert sample.image.dtype == np.uint8 and sample.image.shape == (*raw.shape, 3)
        np.testing.assert_array_equal(sample.ignore, raw == 128)
        np.testing.assert_array_equal(sample.mask, raw == 255)
        with_band += bool(sample.ignore.any())
    assert with_band == 42  # the other 8 masks are plain 0/255


def test_berkeley_bench_reads_100_rgb_masks() -> None:
    dataset = FolderDataset(bench("berkeley"))
    assert len(dataset) == 100
    names = [image.stem for image, _ in dataset.pairs]
    assert {"189011a", "189011b", "239007a", "239007b"} <= set(names)
    sample = dataset[names.index("101087")]  # a mask with stray magenta pixels
    raw = cv2.imread(str(dataset.pairs[names.index("101087")][1]))
    np.testing.assert_array_equal(sample.mask, raw[:, :, 0] > 128)
    assert not sample.ignore.any() and sample.image.shape == (*sample.mask.shape, 3)


def write_gray(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), array)


def test_folder_matches_stems_case_insensitively_and_reads_greyscale_images(tmp_path: Path) -> None:
    gray = np.tile(np.arange(0, 200, 10, dtype=np.uint8), (12, 1))
    write_gray(tmp_path / "images" / "Photo.BMP", gray)
    mask = np.zeros((12, 20), np.uint8)
    mask[2:6, 3:9] = 7  # any non-zero value is the object
    write_gray(tmp_path / "masks" / "photo.png", mask)
    sample = FolderDataset(tmp_path)[0]
    assert sample.name == "Photo" and sample.image.shape == (12, 20, 3)
    np.testing.assert_array_equal(sample.image[:, :, 0], gray)
    np.testing.assert_array_equal(sample.mask, mask > 0)
    assert not sample.ignore.any()


def test_folder_reports_images_without_masks(tmp_path: Path) -> None:
    write_gray(tmp_path / "images" / "a.png", np.zeros((4, 4), np.uint8))
    write_gray(tmp_path / "images" / "b.png", np.zeros((4, 4), np.uint8))
    write_gray(tmp_path / "masks" / "A.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="b"):
        FolderDataset(tmp_path)


def test_128_is_the_object_when_there_is_no_trimap(tmp_path: Path) -> None:
    write_gray(tmp_path / "m.png", np.array([[0, 128], [128, 0]], np.uint8))
    mask, ignore = read_object_mask(tmp_path / "m.png")
    assert mask.tolist() == [[False, True], [True, False]] and not ignore.any()


def test_read_rgb_converts_bgr_files_to_rgb(tmp_path: Path) -> None:
    bgr = np.zeros((3, 4, 3), np.uint8)
    bgr[..., 2] = 200  # red in OpenCV's BGR order
    assert cv2.imwrite(str(tmp_path / "red.png"), bgr)
    rgb = read_rgb(tmp_path / "red.png")
    assert rgb[0, 0].tolist() == [200, 0, 0]


def test_coco_reader_gives_one_sample_per_instance_and_ignores_crowds(tmp_path: Path) -> None:
    write_gray(tmp_path / "images" / "one.png", np.zeros((30, 40), np.uint8))
    crowd = np.asfortranarray(square(30, 40, 20, 0, 10).astype(np.uint8))
    rle = coco_mask.encode(crowd)
    rle["counts"] = rle["counts"].decode()
    annotations = {
        "images": [{"id": 1, "file_name": "one.png", "height": 30, "width": 40}],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [
            {"id": 5, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 36.0, "bbox": [2, 2, 6, 6],
             "segmentation": [[2, 2, 8, 2, 8, 8, 2, 8]]},
            {"id": 6, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 0.0, "bbox": [0, 0, 0, 0],
             "segmentation": [[30, 3, 30, 3, 30, 3]]},
            {"id": 7, "image_id": 1, "category_id": 1, "iscrowd": 1, "area": 100.0, "bbox": [0, 20, 10, 10],
             "segmentation": rle},
        ],
    }  # fmt: skip
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(annotations))
    dataset = CocoDataset(path, tmp_path / "images")
    assert len(dataset) == 1
    sample = dataset[0]
    assert sample.name == "one#5" and sample.image.shape == (30, 40, 3)
    assert sample.mask[2:8, 2:8].all() and sample.mask.sum() <= 49
    np.testing.assert_array_equal(sample.ignore, crowd.astype(bool))


# ----------------------------------------------------------------------------- GrabCut baseline and CLI
def test_grabcut_session_follows_the_session_interface() -> None:
    image = np.full((60, 80, 3), 30, np.uint8)
    image[15:45, 20:60] = (220, 40, 40)
    session = GrabCutSession()
    session.set_image(image)
    first = session.add_click(40, 30, True)
    assert first.dtype == np.float32 and first.shape == (60, 80)
    rectangle = np.zeros((60, 80), dtype=bool)
    rectangle[15:45, 20:60] = True
    assert metrics.iou(first > 0.49, rectangle) > 0.9
    assert session.clicks == [Click(x=40, y=30, positive=True)]
    second = session.add_click(5, 5, False)
    assert not second[5, 5] and session.clicks[-1] == Click(x=5, y=5, positive=False)
    session.reset()
    assert session.clicks == [] and session.mask is None
    np.testing.assert_array_equal(session.add_click(40, 30, True), first)  # reset: the same first result


def test_grabcut_baseline_end_to_end_on_two_real_images(tmp_path: Path) -> None:
    out = tmp_path / "noc.json"
    plot = tmp_path / "miou.png"
    args = ["--model", "grabcut", "--dataset", str(bench("grabcut")), "--limit", "2", "--max-clicks", "4"]
    assert evaluate_main([*args, "--json", str(out), "--plot", str(plot), "--quiet"]) == 0
    summary = json.loads(out.read_text())
    assert summary.keys() >= REQUIRED_KEYS
    assert summary["num_samples"] == 2 and summary["model"] == "grabcut" and summary["dataset"] == "grabcut"
    assert len(summary["miou_per_click"]) == 4 and summary["miou_per_click"][-1] > 0.5
    assert 1 <= summary["noc85"] <= summary["noc90"] <= 4 and summary["spc"] > 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_command_compares_several_results(tmp_path: Path) -> None:
    paths = []
    for name, curve in (("a", [0.5, 0.8, 0.9]), ("b", [0.6, 0.85, 0.95])):
        result = {"model": name, "dataset": "toy", "noc90": 2.0, "miou_per_click": curve}
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(result))
    out = tmp_path / "compare.png"
    assert evaluate_main(["plot", *map(str, paths), "--out", str(out)]) == 0
    assert out.stat().st_size > 1000


def test_cli_rejects_a_missing_dataset(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        evaluate_main(["--model", "grabcut", "--dataset", str(tmp_path / "nope"), "--quiet"])


def test_evaluate_dataset_honours_limit() -> None:
    dataset = [object_sample(str(i)) for i in range(5)]
    results = evaluate_dataset(ScriptedSession([0.95]), dataset, max_clicks=3, limit=2, progress=False)
    assert [r.name for r in results] == ["0", "1"]


def test_real_model_on_the_apps_engine_matches_the_torch_reference(tmp_path: Path, hrnet18_model) -> None:
    """``--engine openvino`` measures what annotators get; within parity it must click and score like torch."""
    summaries = {}
    for engine in ("torch", "openvino"):
        out = tmp_path / f"{engine}.json"
        args = ["--model", "hrnet18-ocr64-cocolvis", "--dataset", str(bench("grabcut")), "--limit", "2"]
        args += ["--max-clicks", "3", "--threads", "2", "--engine", engine, "--json", str(out), "--quiet"]
        assert evaluate_main(args) == 0
        summaries[engine] = json.loads(out.read_text())
    assert summaries["openvino"]["settings"]["engine"] == "openvino"
    assert summaries["torch"]["settings"]["engine"] == "torch"
    for ours, reference in zip(summaries["openvino"]["samples"], summaries["torch"]["samples"], strict=True):
        assert ours["clicks"] == reference["clicks"]
        np.testing.assert_allclose(ours["ious"], reference["ious"], atol=1e-3)
    assert summaries["torch"]["miou_per_click"][0] > 0.8
