"""Training: losses, EdgeFlow's start from RITM, iterative clicks, and a tiny end-to-end run with resume."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from ml.data.augment import AugmentParams
from ml.data.click_dataset import ClickTrainingDataset, PooledObject
from ml.data.sources import DatasetSpec, index_objects, open_instance_dataset
from ml.inference.clicks import Click
from ml.model.loaded import LoadedModel
from ml.training.forward import COARSE_KEY, freeze_batch_norm, training_forward
from ml.training.init_from_ritm import edgeflow_from_ritm
from ml.training.iterative import coord_features, next_click
from ml.training.losses import (
    balanced_binary_cross_entropy,
    binary_cross_entropy,
    edge_target,
    normalized_focal_loss,
)
from ml.training.parity import max_differences


def test_losses_ignore_pixels_and_prefer_correct_predictions() -> None:
    target = torch.zeros(1, 1, 8, 8)
    target[..., 2:6, 2:6] = 1
    good, bad = (target * 2 - 1) * 4, -(target * 2 - 1) * 4
    for loss in (normalized_focal_loss, binary_cross_entropy, balanced_binary_cross_entropy):
        assert loss(good, target) < loss(bad, target)
    ignored = target.clone()
    ignored[..., 0, :] = -1
    wrong_in_ignored = good.clone()
    wrong_in_ignored[..., 0, :] = 10.0
    assert normalized_focal_loss(wrong_in_ignored, ignored) == pytest.approx(
        float(normalized_focal_loss(good, ignored))
    )


def test_edge_target_is_a_band_on_the_mask_border() -> None:
    mask = torch.zeros(1, 1, 20, 20)
    mask[..., 5:15, 5:15] = 1
    edge = edge_target(mask, width=3)
    assert edge[0, 0, 5, 10] == 1 and edge[0, 0, 4, 10] == 1 and edge[0, 0, 10, 10] == 0 and edge[0, 0, 0, 0] == 0
    frame = torch.ones(1, 1, 6, 6)
    assert edge_target(frame).sum() == 0  # the image border is not an object border


def test_corrective_click_goes_to_the_largest_error() -> None:
    gt = np.zeros((30, 30), bool)
    gt[5:25, 5:25] = True
    click = next_click(np.zeros((30, 30), np.float32), gt, np.ones_like(gt), np.random.default_rng(0))
    assert click is not None and click.positive and gt[click.y, click.x]
    assert next_click(gt.astype(np.float32), gt, np.ones_like(gt), np.random.default_rng(0)) is None


def test_point_rows_are_x_y_positive_like_click_lists() -> None:
    points = torch.tensor([[Click(10, 3, True).as_list(), Click(2, 15, False).as_list(), [-1, -1, -1]]])
    features = coord_features(points, torch.zeros(1, 1, 20, 30))
    assert features.shape == (1, 3, 20, 30)
    assert features[0, 1, 3, 10] == 1 and features[0, 1, 10, 3] == 0  # row y = 3, column x = 10
    assert features[0, 2, 15, 2] == 1 and features[0, 2, 2, 15] == 0


def test_edgeflow_starts_as_the_pretrained_ritm(hrnet18_model: LoadedModel) -> None:
    network, report = edgeflow_from_ritm("hrnet18-ocr64-cocolvis")
    assert (
        len(report.copied) == 1581
        and report.fresh
        and all(n.startswith(("finenet.", "feature_extractor.edge", "feature_extractor.warp")) for n in report.fresh)
    )
    network.eval()
    generator = torch.Generator().manual_seed(0)
    image = torch.randn(1, 3, 96, 128, generator=generator)
    features = torch.zeros(1, 3, 96, 128)
    features[0, 1, 40:45, 60:65] = 1
    with torch.no_grad():
        expected = hrnet18_model.network(image, features)["instances"]
        features[0, 0] = torch.rand(96, 128, generator=generator)  # any previous edge: muted at the start
        outputs = training_forward(network, image, features)
    assert torch.allclose(outputs[COARSE_KEY], expected, atol=1e-3)
    assert torch.equal(torch.sigmoid(outputs["instances"]) > 0.49, torch.sigmoid(expected) > 0.49)


def _tiny_data(root: Path, count: int = 3) -> None:
    rng = np.random.default_rng(0)
    for index in range(count):
        image = rng.integers(0, 80, (72, 96, 3), dtype=np.uint8)
        mask = np.zeros((72, 96), np.uint8)
        top, left = 10 + 5 * index, 15 + 8 * index
        mask[top : top + 35, left : left + 40] = 255
        image[mask > 0] = rng.integers(150, 255, (int((mask > 0).sum()), 3), dtype=np.uint8)
        for sub, array in (("images", image), ("masks", mask)):
            (root / sub).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(root / sub / f"{index}.png"), array)


def test_loss_falls_on_tiny_data(tmp_path: Path) -> None:
    torch.manual_seed(0)
    _tiny_data(tmp_path)
    reader = open_instance_dataset(DatasetSpec("mask_folder", str(tmp_path)))
    objects = [PooledObject(0, ref) for ref in index_objects(reader, 1)]
    dataset = ClickTrainingDataset([reader], objects, 2, AugmentParams(crop_size=(64, 96)))
    batch = {key: torch.stack([dataset[i][key] for i in range(2)]) for key in ("image", "mask", "points")}
    network, _ = edgeflow_from_ritm("hrnet18-ocr64-cocolvis")
    network.train()
    freeze_batch_norm(network)
    optimizer = torch.optim.Adam([p for n, p in network.named_parameters() if "stage" not in n], lr=5e-4)
    features = coord_features(batch["points"], torch.zeros_like(batch["mask"]))
    losses = []
    for _ in range(6):
        outputs = training_forward(network, batch["image"], features)
        target_edge = edge_target(batch["mask"])
        loss = (
            normalized_focal_loss(outputs["instances"], batch["mask"])
            + 0.4 * balanced_binary_cross_entropy(outputs["instances_edge"], target_edge)
            + 0.4 * binary_cross_entropy(outputs["instances_aux"], batch["mask"])
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.8 * losses[0], losses


def _config(tmp_path: Path, iterations: int) -> Path:
    config = {
        "name": "tiny-edgeflow",
        "datasets": [{"kind": "mask_folder", "path": str(tmp_path / "data")}],
        "phases": [
            {"name": "coarse", "iterations": iterations, "lr_mults": {"pretrained": 0.1, "added": 1.0, "finenet": 0}},
            {"name": "whole", "iterations": iterations, "lr_mults": {"pretrained": 0.01, "added": 0.1, "finenet": 1}},
        ],
        "output_dir": str(tmp_path / "run"),
        "crop_size": [64, 96],
        "min_object_area": 1,
        "val_fraction": 0.3,
        "val_max_objects": 1,
        "val_max_clicks": 2,
        "checkpoint_every": 1,
        "threads": 2,
    }
    path = tmp_path / f"config{iterations}.json"
    path.write_text(json.dumps(config))
    return path


def test_train_cli_resume_export_and_fp16_parity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ml.train import main
    from ml.training.config import TrainConfig
    from ml.training.trainer import Trainer
    from ml.weights import load_model
    from ml.weights.checkpoint import read_checkpoint
    from ml.weights.registry import checkpoint_path

    _tiny_data(tmp_path / "data", count=4)
    pretrained = checkpoint_path("hrnet18-ocr64-cocolvis")
    monkeypatch.setenv("EDGEFLOW_VAR_DIR", str(tmp_path / "var"))
    checkpoint_path("hrnet18-ocr64-cocolvis").parent.mkdir(parents=True)
    checkpoint_path("hrnet18-ocr64-cocolvis").symlink_to(pretrained)
    config = _config(tmp_path, 2)

    def interrupt(done: int, total: int) -> None:
        if done == 3:
            raise KeyboardInterrupt  # after iteration 3 ran, before its checkpoint: resume redoes it

    with pytest.raises(KeyboardInterrupt):
        Trainer(TrainConfig.load(config), on_progress=interrupt, progress_bar=False).run()
    run = tmp_path / "run"
    assert main(["--config", str(config), "--quiet", "--resume", "--register"]) == 0
    with open(run / "log.csv") as handle:
        rows = list(csv.DictReader(handle))
    trained = [r for r in rows if r["loss"]]
    assert [int(r["iteration"]) for r in trained] == [1, 2, 3, 4]  # resumed after the first run's checkpoints
    assert [r["phase"] for r in trained] == ["coarse", "coarse", "whole", "whole"]
    assert (run / "loss_curve.png").stat().st_size > 10_000 and (run / "init.txt").is_file()

    state, meta = read_checkpoint(tmp_path / "var" / "models" / "tiny-edgeflow.pt")
    assert meta.arch == "edgeflow" and meta.prev_channel == "edge" and meta.source["format"] == "trained"
    assert (
        state["finenet.atrous1.0.weight"].dtype == torch.float16
        and state["finenet.final_predict.2.bias"].dtype == torch.float32
    )
    registered = checkpoint_path("tiny-edgeflow")
    differences = max_differences(load_model("tiny-edgeflow").network, run / "tiny-edgeflow.parity.npz")
    assert set(differences) == {"instances", "instances_aux", "instances_edge"}
    assert max(differences.values()) < 1e-2, differences  # fp16 storage vs the fp32 network
    reference = max_differences(load_model("edgeflow", run / "best.pt").network, run / "tiny-edgeflow.parity.npz")
    assert max(reference.values()) < 1e-6  # the reference is the fp32 best network
    assert registered.is_file()
