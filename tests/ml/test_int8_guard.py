"""The INT8 engine and its NoC guard on a small fixed subset, so that a regression in quantisation fails CI.

A small calibration (a few ECSSD training images, two clicks each) quantises HRNet18-OCR64 once per session into
a temporary directory; the f32 reference comes from the regular cache (``make weights``). The subset is the first
5 GrabCut images with at most 5 clicks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ml.inference.engines.base import Engine
from ml.inference.engines.choice import cpu_info
from ml.inference.engines.guard import GuardSettings, compare, evaluate_engine, guard_passed, guard_path
from ml.inference.engines.int8 import (
    WEIGHTED_OPS,
    Calibration,
    RecordingEngine,
    f32_layers,
    load_or_quantize,
    mask_iou,
)
from ml.inference.engines.openvino import OpenVINOEngine, weights_digest
from ml.model.loaded import LoadedModel

SUBSET = GuardSettings(datasets=("grabcut",), limit=5, max_clicks=5)


@pytest.fixture(scope="session")
def f32_engine(hrnet18_model: LoadedModel) -> OpenVINOEngine:
    return OpenVINOEngine(hrnet18_model, threads=2)


@pytest.fixture(scope="session")
def f32_subset(f32_engine: OpenVINOEngine) -> tuple[dict[str, Any], list[tuple[np.ndarray, np.ndarray]]]:
    """The reference's guard figures on the subset, and every network input it was given there."""
    recorder = RecordingEngine(f32_engine)
    return evaluate_engine(recorder, "grabcut", SUBSET, progress=False), recorder.inputs


@pytest.fixture(scope="session")
def int8_engine(hrnet18_model: LoadedModel, tmp_path_factory: pytest.TempPathFactory) -> OpenVINOEngine:
    directory = tmp_path_factory.mktemp("int8")
    load_or_quantize(hrnet18_model, directory, threads=2, calibration=Calibration(images=4, clicks=2))
    return OpenVINOEngine(hrnet18_model, threads=2, precision="int8", directory=directory)


class NegatedEngine:
    """A deliberately broken engine: the f32 engine with its logits' sign flipped."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.name, self.mean, self.std, self.prev_channel = engine.name, engine.mean, engine.std, engine.prev_channel

    def __call__(self, image: np.ndarray, coord_features: np.ndarray) -> dict[str, np.ndarray]:
        return {key: -value for key, value in self.engine(image, coord_features).items()}


def test_int8_outputs_differ_from_f32_but_masks_agree(
    f32_engine: OpenVINOEngine, f32_subset: tuple[dict[str, Any], list], int8_engine: OpenVINOEngine
) -> None:
    assert int8_engine.engine_name == "openvino-int8" and int8_engine.ir_path.name.endswith("-int8.xml")
    differences, ious = [], []
    for image, features in f32_subset[1][::2]:
        reference = f32_engine(image, features)["instances"]
        quantised = int8_engine(image, features)["instances"]
        differences.append(float(np.abs(quantised - reference).max()))
        ious.append(mask_iou(quantised, reference))
    assert min(differences) > 1e-3, "int8 logits equal f32: the IR is not quantised"
    assert float(np.mean(ious)) > 0.95, f"int8 masks disagree with f32: IoU {np.round(ious, 3)}"


def test_int8_guard_holds_noc_on_the_subset(
    f32_subset: tuple[dict[str, Any], list], int8_engine: OpenVINOEngine
) -> None:
    reference = f32_subset[0]
    quantised = evaluate_engine(int8_engine, "grabcut", SUBSET, progress=False)
    assert reference["samples"] == quantised["samples"] == 5
    assert compare(reference, quantised), f"f32 {reference} vs int8 {quantised}"


def test_guard_rejects_a_broken_engine(f32_engine: OpenVINOEngine, f32_subset: tuple[dict[str, Any], list]) -> None:
    reference = f32_subset[0]
    few = GuardSettings(datasets=("grabcut",), limit=2, max_clicks=SUBSET.max_clicks)
    broken = evaluate_engine(NegatedEngine(f32_engine), "grabcut", few, progress=False)  # never reaches 90 %
    assert not compare(reference, broken)
    assert compare(reference, reference)
    fewer = {**reference, "noc85": reference["noc85"] - 0.5, "noc90": reference["noc90"] - 0.5}
    assert compare(reference, fewer), "needing fewer clicks is not a regression"
    more = {**reference, "noc90": reference["noc90"] + 0.06}
    assert not compare(reference, more)
    assert not compare(reference, {**reference, "at_max90": reference["at_max90"] + 1})


def test_guard_passed_reads_complete_runs_for_the_current_weights(
    hrnet18_model: LoadedModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDGEFLOW_VAR_DIR", str(tmp_path))
    engine = "openvino-int8"
    assert guard_passed(hrnet18_model, "openvino") is True  # within parity: no guard needed
    assert guard_passed(hrnet18_model, engine) is None  # never ran
    path = guard_path(hrnet18_model, engine)
    path.parent.mkdir(parents=True)
    result = {"weights_digest": weights_digest(hrnet18_model), "complete": True, "passed": True,
              "cpu": cpu_info().as_dict()}  # fmt: skip
    path.write_text(json.dumps(result))
    assert guard_passed(hrnet18_model, engine) is True
    path.write_text(json.dumps({**result, "passed": False}))
    assert guard_passed(hrnet18_model, engine) is False
    path.write_text(json.dumps({**result, "complete": False}))
    assert guard_passed(hrnet18_model, engine) is None  # a subset run never counts
    path.write_text(json.dumps({**result, "weights_digest": "other weights"}))
    assert guard_passed(hrnet18_model, engine) is None
    other_kind = {**result["cpu"], "flags": ["avx2"] if "avx512f" in result["cpu"]["flags"] else ["avx512f"]}
    path.write_text(json.dumps({**result, "cpu": other_kind}))
    assert guard_passed(hrnet18_model, engine) is None  # measured on another kind of CPU


def test_the_stem_and_the_heads_stay_in_f32(f32_engine: OpenVINOEngine, int8_engine: OpenVINOEngine) -> None:
    import openvino

    core = openvino.Core()
    f32 = core.read_model(f32_engine.ir_path)
    kept = f32_layers(f32)
    weighted = [op.get_friendly_name() for op in f32.get_ordered_ops() if op.get_type_name() in WEIGHTED_OPS]
    assert kept[:3] == weighted[:3] and "maps_transform" in kept[1]  # the image's and the clicks' first layers
    assert kept[-1] == weighted[-1] and "cls_head" in kept[-1]
    assert sum("ocr_" in name and "MatMul" in name for name in kept) == 3  # the OCR attention
    assert len(kept) < 0.1 * len(weighted)  # the backbone is quantised
    # In the int8 IR, a quantised layer reads its inputs through FakeQuantize; the kept layers read them as they are.
    quantised = core.read_model(int8_engine.ir_path)
    by_name = {op.get_friendly_name(): op for op in quantised.get_ordered_ops()}

    def reads_quantised(name: str) -> bool:
        node = by_name[name]
        return any(node.input_value(i).get_node().get_type_name() == "FakeQuantize" for i in range(2))

    assert not any(reads_quantised(name) for name in kept)
    backbone = [name for name in weighted if name not in kept]
    assert sum(reads_quantised(name) for name in backbone) > 0.9 * len(backbone)
