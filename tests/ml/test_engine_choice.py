"""The engine chosen per CPU kind: reduced precision only where the CPU runs it natively and its guard passed for
the model's weights; otherwise OpenVINO f32 (within the parity tolerance)."""

import json
from pathlib import Path

import pytest

from ml.inference.engines import default_engine
from ml.inference.engines.choice import CPU_FLAGS, CpuInfo, candidates, choose_engine, cpu_info, runs_natively
from ml.inference.engines.guard import guard_passed, guard_path
from ml.inference.engines.openvino import weights_digest
from ml.model.loaded import LoadedModel

AVX2_ONLY = CpuInfo("AMD EPYC", ("avx2",), ("FP32", "INT8", "BIN", "EXPORT_IMPORT"))
AMX = CpuInfo("Intel(R) Xeon(R) Processor", ("avx2", "avx512f", "amx_bf16", "amx_int8"), ("FP32", "INT8", "BF16"))
NO_INT8 = CpuInfo("old", (), ("FP32",))
ALL = ["openvino-int8", "openvino-bf16", "openvino", "torch-fused", "torch"]


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EDGEFLOW_VAR_DIR", str(tmp_path))
    return tmp_path


def passed_guard(loaded: LoadedModel, engine: str, cpu: CpuInfo) -> None:
    """A complete passed guard run of ``engine`` recorded on a CPU like ``cpu``."""
    path = guard_path(loaded, engine)
    path.parent.mkdir(parents=True, exist_ok=True)
    result = {"weights_digest": weights_digest(loaded), "complete": True, "passed": True, "cpu": cpu.as_dict()}
    path.write_text(json.dumps(result))


def test_bf16_is_a_candidate_only_where_the_cpu_has_it_natively() -> None:
    assert candidates(AVX2_ONLY) == ["openvino-int8", "openvino", "torch-fused", "torch"]
    assert candidates(AMX) == ALL
    assert candidates(NO_INT8) == ["openvino", "torch-fused", "torch"]
    assert not runs_natively("openvino-bf16", AVX2_ONLY) and runs_natively("openvino-int8", AVX2_ONLY)


def test_without_a_passed_guard_the_full_precision_engine_is_chosen(hrnet18_model: LoadedModel, var_dir) -> None:
    assert choose_engine(hrnet18_model, ALL, AMX) == "openvino"
    assert choose_engine(hrnet18_model, ["torch-fused", "torch"], AVX2_ONLY) == "torch-fused"
    assert choose_engine(hrnet18_model, [], AVX2_ONLY) == "torch"


def test_a_passed_guard_makes_the_reduced_precision_engine_the_default_where_native(
    hrnet18_model: LoadedModel, var_dir
) -> None:
    passed_guard(hrnet18_model, "openvino-bf16", AMX)
    assert choose_engine(hrnet18_model, ALL, AMX) == "openvino-bf16"
    assert choose_engine(hrnet18_model, ALL, AVX2_ONLY) == "openvino"  # bf16 emulated there: slower
    passed_guard(hrnet18_model, "openvino-int8", AVX2_ONLY)
    assert choose_engine(hrnet18_model, ALL, AVX2_ONLY) == "openvino-int8"
    assert choose_engine(hrnet18_model, ALL, NO_INT8) == "openvino"
    # int8 kernels differ by instruction set: a verdict from another kind of CPU does not count here
    assert choose_engine(hrnet18_model, ALL, AMX) == "openvino-bf16"
    assert default_engine(hrnet18_model) == "openvino"  # neither guard ran on this machine's kind of CPU
    passed_guard(hrnet18_model, "openvino-int8", cpu_info())
    native_int8 = "INT8" in cpu_info().capabilities
    assert default_engine(hrnet18_model) == ("openvino-int8" if native_int8 else "openvino")
    assert default_engine() == "openvino"  # no model: no guard to consult


def test_a_guard_verdict_follows_todays_rule_from_the_recorded_figures(hrnet18_model: LoadedModel, var_dir) -> None:
    figures = {"noc85": 1.5, "noc90": 1.68, "at_max90": 0}
    fewer_clicks = {"noc85": 1.44, "noc90": 1.62, "at_max90": 0}  # recorded as failed by the old two-sided rule
    result = {
        "weights_digest": weights_digest(hrnet18_model), "complete": True, "passed": False,
        "cpu": cpu_info().as_dict(), "engine": "openvino-bf16", "reference_engine": "openvino",
        "datasets": {"grabcut": {"openvino": figures, "openvino-bf16": fewer_clicks, "passed": False}},
    }  # fmt: skip
    path = guard_path(hrnet18_model, "openvino-bf16")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result))
    assert guard_passed(hrnet18_model, "openvino-bf16") is True
    more_clicks = {**figures, "noc90": 1.80}
    result["datasets"]["grabcut"]["openvino-bf16"] = more_clicks
    path.write_text(json.dumps(result))
    assert guard_passed(hrnet18_model, "openvino-bf16") is False


def test_this_machine_is_described() -> None:
    here = cpu_info()
    assert here.model and "FP32" in here.capabilities
    proc_flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    assert set(here.flags) == set(CPU_FLAGS) & set(proc_flags.split(":", 1)[1].split())


def test_make_weights_readies_the_reduced_precision_this_cpu_runs_natively() -> None:
    from ml.inference.engines.__main__ import reduced_precision_for

    assert reduced_precision_for(AMX) == "openvino-bf16"  # no build, as fast as int8 there
    assert reduced_precision_for(AVX2_ONLY) == "openvino-int8"
    assert reduced_precision_for(NO_INT8) is None


def test_without_the_benchmark_sets_prepare_reduced_leaves_f32_serving(
    hrnet18_model: LoadedModel, var_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from ml.inference.engines.__main__ import main

    (var_dir / "models").symlink_to(Path(__file__).resolve().parents[2] / "var" / "models")
    monkeypatch.setenv("EDGEFLOW_SHARED_DIR", str(tmp_path / "no-shared"))
    assert main(["prepare", "--model", hrnet18_model.name, "--reduced"]) == 0
    out = capsys.readouterr().out
    assert "f32 serves" in out or "not built (no calibration images" in out, out
    assert default_engine(hrnet18_model) == "openvino"
