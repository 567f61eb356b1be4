"""Inference engines against the PyTorch reference: parity on real weights, through the predictor, and fallback.

The OpenVINO model is traced once with dynamic N/H/W, so the checks use sizes other than the traced one: the
fixtures' 400×400 and 320×480 (H×W) and an odd 203×301 at batch 2.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ml.evaluation.metrics import iou
from ml.inference import ClickSession, TorchEngine
from ml.inference.engines import ENGINES, create_engine, default_engine, engine_name
from ml.inference.engines.openvino import OpenVINOEngine, ir_path, load_or_convert
from ml.model.flow_align import _flow_warp_shape_free, flow_warp
from ml.model.layers import SameConv2d
from ml.model.loaded import LoadedModel
from ml.weights.verify import fixture_inputs, tolerance_for


@pytest.fixture(autouse=True)
def _two_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def ritm_engines(hrnet18_model: LoadedModel) -> tuple[TorchEngine, OpenVINOEngine]:
    return TorchEngine(hrnet18_model), OpenVINOEngine(hrnet18_model, threads=2)


@pytest.fixture(scope="module")
def edgeflow_engines(edgeflow_dynamic_model: LoadedModel) -> tuple[TorchEngine, OpenVINOEngine]:
    return TorchEngine(edgeflow_dynamic_model), OpenVINOEngine(edgeflow_dynamic_model, threads=2)


def _inputs(fixture: Path, model: LoadedModel, size: tuple[int, int] | None, batch: int) -> tuple[np.ndarray, ...]:
    """The fixture's real image and coord features, optionally resized, repeated ``batch`` times (one flipped)."""
    with np.load(fixture) as archive:
        image, features = fixture_inputs({key: archive[key] for key in archive.files}, model)
    if size is not None:
        image = F.interpolate(image, size=size, mode="bilinear", align_corners=True)
        features = F.interpolate(features, size=size, mode="nearest")
    if batch == 2:
        image, features = torch.cat([image, image.flip(-1)]), torch.cat([features, features.flip(-1)])
    return image.numpy(), features.numpy()


def _assert_parity(reference: dict[str, np.ndarray], outputs: dict[str, np.ndarray]) -> None:
    assert set(outputs) == set(reference)
    for name, expected in reference.items():
        assert outputs[name].shape == expected.shape and outputs[name].dtype == np.float32, name
        difference = float(np.abs(outputs[name] - expected).max())
        assert difference <= tolerance_for(expected), f"{name}: {difference:.3e} > {tolerance_for(expected):.3e}"


SIZES = [("case_a", None, 1), ("case_c", None, 1), ("case_a", (203, 301), 2)]


@pytest.mark.parametrize(("case", "size", "batch"), SIZES)
def test_openvino_matches_torch_on_pretrained_weights(
    ritm_engines: tuple[TorchEngine, OpenVINOEngine], fixtures_dir: Path, case: str, size, batch: int
) -> None:
    reference_engine, engine = ritm_engines
    inputs = _inputs(fixtures_dir / f"ritm_hrnet18_ocr64_{case}.npz", reference_engine.loaded, size, batch)
    _assert_parity(reference_engine(*inputs), engine(*inputs))


@pytest.mark.parametrize(
    ("case", "size", "batch"), [("case_a", None, 1), ("case_b", None, 1), ("case_b", (203, 301), 2)]
)
def test_openvino_matches_torch_on_edgeflow(
    edgeflow_engines: tuple[TorchEngine, OpenVINOEngine], fixtures_dir: Path, case: str, size, batch: int
) -> None:
    reference_engine, engine = edgeflow_engines
    inputs = _inputs(fixtures_dir / f"edgeflow_random_{case}.npz", reference_engine.loaded, size, batch)
    _assert_parity(reference_engine(*inputs), engine(*inputs))


def test_openvino_reproduces_paddle_fixture(
    ritm_engines: tuple[TorchEngine, OpenVINOEngine], fixtures_dir: Path
) -> None:
    _, engine = ritm_engines
    with np.load(fixtures_dir / "ritm_hrnet18_ocr64_case_c.npz") as case:
        inputs = _inputs(fixtures_dir / "ritm_hrnet18_ocr64_case_c.npz", ritm_engines[0].loaded, None, 1)
        outputs = engine(*inputs)
        _assert_parity(
            {"instances": case["out0"], "instances_aux": case["out1"]}, {k: v[0, 0] for k, v in outputs.items()}
        )


def _click_masks(engine, image: np.ndarray, clicks: list[tuple[int, int, bool]], flip: bool) -> list[np.ndarray]:
    session = ClickSession(engine, zoom_in=True, flip=flip)
    session.set_image(image)
    return [session.add_click(x, y, positive) > 0.5 for x, y, positive in clicks]


@pytest.mark.parametrize("flip", [False, True])
def test_click_session_masks_equal_with_openvino(
    ritm_engines: tuple[TorchEngine, OpenVINOEngine], fixtures_dir: Path, flip: bool
) -> None:
    with np.load(fixtures_dir / "ritm_hrnet18_ocr64_case_c.npz") as case:
        image = case["image_uint8"]  # 320×480; the zoom-in crops give other, non-square sizes
    clicks = [(240, 160, True), (120, 60, False), (300, 200, True), (350, 250, False)]
    reference = _click_masks(ritm_engines[0], image, clicks, flip)
    masks = _click_masks(ritm_engines[1], image, clicks, flip)
    assert all(mask.any() for mask in reference)
    for step, (expected, mask) in enumerate(zip(reference, masks, strict=True)):
        assert np.array_equal(mask, expected), f"click {step + 1}: {int((mask != expected).sum())} pixels differ"


def test_edgeflow_click_session_masks_equal_with_openvino(
    edgeflow_engines: tuple[TorchEngine, OpenVINOEngine], fixtures_dir: Path
) -> None:
    with np.load(fixtures_dir / "edgeflow_random_case_b.npz") as case:
        image = case["image_uint8"]
    clicks = [(240, 160, True), (100, 250, False), (300, 120, True)]
    reference = _click_masks(edgeflow_engines[0], image, clicks, flip=False)
    masks = _click_masks(edgeflow_engines[1], image, clicks, flip=False)
    for step, (expected, mask) in enumerate(zip(reference, masks, strict=True)):
        assert iou(mask, expected) >= 0.999 or (not mask.any() and not expected.any()), f"click {step + 1}"


def test_bf16_engine_is_close_but_only_opt_in(hrnet18_model: LoadedModel, fixtures_dir: Path) -> None:
    assert default_engine() == "openvino"
    engine = create_engine(hrnet18_model, "openvino-bf16", threads=2)
    if engine_name(engine) == "torch":  # no native bfloat16 on this CPU: the factory fell back
        return
    inputs = _inputs(fixtures_dir / "ritm_hrnet18_ocr64_case_a.npz", hrnet18_model, None, 1)
    expected = TorchEngine(hrnet18_model)(*inputs)["instances"][0, 0]
    logits = engine(*inputs)["instances"][0, 0]
    assert np.abs(logits - expected).max() > tolerance_for(expected)  # why it is not the default: outside parity
    assert np.abs(logits - expected).max() <= 0.05 * np.abs(expected).max()
    assert iou(logits > 0, expected > 0) >= 0.95  # measured 0.975 (a few border pixels of a small object)


# --------------------------------------------------------------------------- traced code paths
@pytest.mark.parametrize("size", [(100, 100), (25, 38), (51, 13)])
def test_shape_free_same_conv_equals_paddle_same_padding(size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    conv = SameConv2d(8, 8, 3, stride=2, groups=8, bias=True).eval()
    x = torch.randn(2, 8, *size)
    with torch.no_grad():
        torch.testing.assert_close(conv._forward_shape_free(x), conv(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("size", [(100, 100), (25, 38), (1, 7)])
def test_shape_free_flow_warp_equals_flow_warp(size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    x, flow = torch.randn(2, 4, *size), 3 * torch.randn(2, 2, *size)
    # the grids differ only by float rounding (~1e-7 of the width), scaled here by the neighbour differences of x
    torch.testing.assert_close(_flow_warp_shape_free(x, flow), flow_warp(x, flow), atol=1e-4, rtol=0)


# --------------------------------------------------------------------------- factory, cache, fallback
def test_unknown_engine_is_a_clear_error(hrnet18_model: LoadedModel) -> None:
    with pytest.raises(ValueError, match="unknown inference engine 'tensorrt'.*openvino"):
        create_engine(hrnet18_model, "tensorrt")
    assert set(ENGINES) >= {"torch", "torch-fused", "openvino", "openvino-bf16"}


def test_failed_conversion_falls_back_to_torch_with_a_warning(
    hrnet18_model: LoadedModel, caplog: pytest.LogCaptureFixture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEFLOW_VAR_DIR", str(tmp_path))
    wrong = dataclasses.replace(hrnet18_model, name="mislabelled", arch="edgeflow")  # no instances_edge output
    with caplog.at_level(logging.WARNING, logger="ml.inference.engines"):
        engine = create_engine(wrong, "openvino")
    assert engine_name(engine) == "torch"
    assert "falling back to torch" in caplog.text and "mislabelled" in caplog.text
    assert not list(tmp_path.rglob("*.xml"))


def test_torch_fused_matches_torch(hrnet18_model: LoadedModel, fixtures_dir: Path) -> None:
    inputs = _inputs(fixtures_dir / "ritm_hrnet18_ocr64_case_c.npz", hrnet18_model, None, 1)
    _assert_parity(TorchEngine(hrnet18_model)(*inputs), create_engine(hrnet18_model, "torch-fused")(*inputs))


def test_converted_model_is_cached_by_weights(edgeflow_dynamic_model: LoadedModel, tmp_path: Path) -> None:
    _, xml = load_or_convert(edgeflow_dynamic_model, tmp_path)
    assert xml.is_file() and xml.with_suffix(".bin").is_file() and xml.name.startswith("edgeflow-")
    stamp = os.stat(xml).st_mtime_ns
    _, again = load_or_convert(edgeflow_dynamic_model, tmp_path)
    assert again == xml and os.stat(xml).st_mtime_ns == stamp
    network = edgeflow_dynamic_model.network
    changed = dataclasses.replace(edgeflow_dynamic_model, network=_with_scaled_first_conv(network))
    assert ir_path(changed, tmp_path) != xml


def _with_scaled_first_conv(network: torch.nn.Module) -> torch.nn.Module:
    import copy

    other = copy.deepcopy(network)
    with torch.no_grad():
        other.maps_transform[0].weight.mul_(2.0)
    return other
