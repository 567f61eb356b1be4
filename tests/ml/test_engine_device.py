"""GPU workers without a GPU: the engine choice with and without a GPU that torch sees (injected), the forced
``torch-cuda`` engine failing clearly where there is none, and the device plumbing of ``torch-cuda`` run through
the same code on a stand-in device (``cpu`` for the arithmetic, ``meta`` for the moves)."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from ml.inference import ClickSession, TorchEngine
from ml.inference.engines import ENGINES, create_engine, default_engine, engine_device, engine_name, is_installed
from ml.inference.engines import choice as engine_choice
from ml.inference.engines.base import _tensor
from ml.inference.engines.choice import CpuInfo, GpuInfo, candidates, choose_engine
from ml.model.loaded import LoadedModel
from ml.weights.verify import fixture_inputs, tolerance_for

AVX2_ONLY = CpuInfo("AMD EPYC", ("avx2",), ("FP32", "INT8", "BIN", "EXPORT_IMPORT"))
AMX = CpuInfo("Intel(R) Xeon(R) Processor", ("avx2", "avx512f", "amx_bf16", "amx_int8"), ("FP32", "INT8", "BF16"))
CPU_ENGINES = ["openvino-int8", "openvino-bf16", "openvino", "torch-fused", "torch"]
FAKE_GPU = GpuInfo(device="cuda:0", name="NVIDIA Fake 1000", capability="8.9", memory_mb=24576, cuda="12.8")


def fake_gpu(monkeypatch: pytest.MonkeyPatch, gpu: GpuInfo | None) -> None:
    """Make this process believe torch sees ``gpu`` (None: no GPU, whatever this machine has)."""
    monkeypatch.setattr(engine_choice, "gpu_info", lambda: gpu)


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No guard verdicts (the reduced precisions are not chosen): the choice depends on the device alone."""
    monkeypatch.setenv("EDGEFLOW_VAR_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def gpu_precision_flags():
    """``torch-cuda`` sets process-wide CUDA precision flags; put them back after the test."""
    saved = torch.backends.cudnn.fp32_precision, torch.backends.cuda.matmul.fp32_precision
    yield
    torch.backends.cudnn.fp32_precision, torch.backends.cuda.matmul.fp32_precision = saved


# ------------------------------------------------------------------------------------------------ the choice
def test_a_gpu_comes_first_and_the_cpu_order_is_unchanged() -> None:
    assert candidates(AVX2_ONLY) == ["openvino-int8", "openvino", "torch-fused", "torch"]
    assert candidates(AMX) == CPU_ENGINES
    assert candidates(AVX2_ONLY, gpu=True) == ["torch-cuda", "openvino-int8", "openvino", "torch-fused", "torch"]
    assert "torch-cuda" in ENGINES


def test_without_a_gpu_the_cpu_path_picks_what_it_picked_before(
    hrnet18_model: LoadedModel, var_dir, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_gpu(monkeypatch, None)
    assert not is_installed("torch-cuda")
    cpu_installed = [name for name in CPU_ENGINES if is_installed(name)]
    assert default_engine(hrnet18_model) == choose_engine(hrnet18_model, cpu_installed) == "openvino"
    assert default_engine() == "openvino"
    assert choose_engine(hrnet18_model, CPU_ENGINES, AMX) == "openvino"
    assert engine_choice.device_description() == "cpu"


def test_with_a_gpu_the_choice_prefers_torch_cuda(
    hrnet18_model: LoadedModel, var_dir, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert choose_engine(hrnet18_model, [*CPU_ENGINES, "torch-cuda"], AMX) == "torch-cuda"
    assert choose_engine(hrnet18_model, [*CPU_ENGINES, "torch-cuda"], AVX2_ONLY) == "torch-cuda"
    fake_gpu(monkeypatch, FAKE_GPU)
    assert is_installed("torch-cuda")
    assert default_engine(hrnet18_model) == "torch-cuda"
    assert default_engine() == "torch-cuda"
    assert engine_choice.device_description() == "cuda:0 (NVIDIA Fake 1000)"


def test_this_machine_is_described_as_torch_sees_it() -> None:
    """The real detection (no injection): a GPU exactly when ``torch.cuda.is_available()``; else why not."""
    gpu = engine_choice.gpu_info()
    assert (gpu is not None) == torch.cuda.is_available() == is_installed("torch-cuda")
    if gpu is None:
        reason = engine_choice.no_gpu_reason()
        assert torch.__version__ in reason
        assert ("CPU-only build" in reason) == (torch.version.cuda is None)
    else:
        assert gpu.device == "cuda:0" and gpu.name and gpu.memory_mb > 0


# ----------------------------------------------------------------------------------------- forced, no GPU
def test_forcing_torch_cuda_without_a_gpu_says_why_and_falls_back_to_torch(
    hrnet18_model: LoadedModel, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_gpu(monkeypatch, None)
    with caplog.at_level(logging.WARNING, logger="ml.inference.engines"):
        engine = create_engine(hrnet18_model, "torch-cuda")
    assert engine_name(engine) == "torch" and engine_device(engine) == "cpu"
    assert "'torch-cuda' failed" in caplog.text and "torch-cuda needs a GPU" in caplog.text
    assert engine_choice.no_gpu_reason() in caplog.text
    assert "falling back to torch" in caplog.text
    assert next(hrnet18_model.network.parameters()).device.type == "cpu"


def test_the_device_command_exits_1_without_a_gpu(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from ml.inference.engines.__main__ import main

    fake_gpu(monkeypatch, None)
    assert main(["device"]) == 1
    assert "device: cpu. No GPU: " in capsys.readouterr().out
    fake_gpu(monkeypatch, FAKE_GPU)
    assert main(["device"]) == 0
    out = capsys.readouterr().out
    assert "device: cuda:0 (NVIDIA Fake 1000)" in out and "default engine: torch-cuda" in out


# ------------------------------------------------------------------------ the torch-cuda code on stand-ins
def _fixture_inputs(fixtures_dir: Path, model: LoadedModel) -> tuple[np.ndarray, np.ndarray]:
    with np.load(fixtures_dir / "ritm_hrnet18_ocr64_case_a.npz") as archive:
        image, features = fixture_inputs({key: archive[key] for key in archive.files}, model)
    return image.numpy(), features.numpy()


def test_torch_cuda_code_on_the_cpu_matches_the_reference(
    hrnet18_model: LoadedModel, fixtures_dir: Path, monkeypatch: pytest.MonkeyPatch, gpu_precision_flags
) -> None:
    """The whole torch-cuda build and call (folded copy, strict f32, move, inputs in, logits out) with the
    device ``cpu`` in place of ``cuda:0``: within the parity tolerance of the reference, same click masks."""
    fake_gpu(monkeypatch, dataclasses.replace(FAKE_GPU, device="cpu"))
    engine = create_engine(hrnet18_model, "torch-cuda", threads=2)
    assert engine_name(engine) == "torch-cuda" and engine_device(engine) == "cpu (NVIDIA Fake 1000)"
    assert engine.network is not hrnet18_model.network  # a folded copy; the loaded network is left alone
    assert torch.backends.cudnn.fp32_precision == "ieee" and torch.backends.cuda.matmul.fp32_precision == "ieee"

    reference = TorchEngine(hrnet18_model, threads=2)
    inputs = _fixture_inputs(fixtures_dir, hrnet18_model)
    expected, outputs = reference(*inputs), engine(*inputs)
    assert set(outputs) == set(expected)
    for name, logits in expected.items():
        assert outputs[name].dtype == np.float32 and outputs[name].shape == logits.shape
        assert float(np.abs(outputs[name] - logits).max()) <= tolerance_for(logits), name

    with np.load(fixtures_dir / "ritm_hrnet18_ocr64_case_c.npz") as case:
        image = case["image_uint8"]  # zoom-in crops give other, non-square sizes
    clicks = [(240, 160, True), (120, 60, False), (300, 200, True)]
    masks = []
    for runnable in (reference, engine):
        session = ClickSession(runnable, zoom_in=True)
        session.set_image(image)
        masks.append([session.add_click(x, y, positive) > 0.5 for x, y, positive in clicks])
    assert all(mask.any() for mask in masks[0])
    for step, (expected, mask) in enumerate(zip(*masks, strict=True)):
        assert np.array_equal(mask, expected), f"click {step + 1}: {int((mask != expected).sum())} pixels differ"


def test_torch_cuda_moves_a_copy_of_the_network_and_the_inputs_to_its_device(
    hrnet18_model: LoadedModel, monkeypatch: pytest.MonkeyPatch, gpu_precision_flags
) -> None:
    """On a device other than the CPU (``meta``: tensors without data, as close to a GPU as this machine
    gets), the engine's weights live there, the model's own stay on the CPU for a fallback, inputs follow."""
    fake_gpu(monkeypatch, dataclasses.replace(FAKE_GPU, device="meta"))
    engine = create_engine(hrnet18_model, "torch-cuda")
    assert engine_name(engine) == "torch-cuda" and engine.device == torch.device("meta")
    assert {parameter.device.type for parameter in engine.network.parameters()} == {"meta"}
    assert {parameter.device.type for parameter in hrnet18_model.network.parameters()} == {"cpu"}
    array = np.zeros((1, 3, 8, 8), dtype=np.float64)
    moved = _tensor(array, engine.device)
    assert moved.device.type == "meta" and moved.dtype == torch.float32
    assert _tensor(array, torch.device("cpu")).device.type == "cpu"
