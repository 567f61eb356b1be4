"""The PyTorch ports reproduce Paddle's reference outputs (shared/fixtures, tolerance per its README)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ml.model import ARCHITECTURES
from ml.model.fuse import optimize_for_inference
from ml.model.loaded import LoadedModel
from ml.paths import REPO_DIR
from ml.weights.verify import run_fixture

RITM_CASES = ["a", "b", "c"]
EDGEFLOW_CASES = ["a", "b"]


@pytest.fixture(autouse=True)
def _two_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


def _assert_within_tolerance(model: LoadedModel, fixture: Path, outputs: set[str]) -> None:
    diffs = run_fixture(model, fixture)
    assert {d.output for d in diffs} == outputs
    report = ", ".join(f"{d.output}={d.max_abs_diff:.2e}/{d.tolerance:.2e}" for d in diffs)
    assert all(d.ok for d in diffs), report


@pytest.mark.parametrize("case", RITM_CASES)
def test_hrnet18_wheel_weights_match_paddle(hrnet18_model: LoadedModel, fixtures_dir: Path, case: str) -> None:
    fixture = fixtures_dir / f"ritm_hrnet18_ocr64_case_{case}.npz"
    _assert_within_tolerance(hrnet18_model, fixture, {"instances", "instances_aux"})


@pytest.mark.parametrize("case", EDGEFLOW_CASES)
def test_edgeflow_pdparams_match_paddle(edgeflow_dynamic_model: LoadedModel, fixtures_dir: Path, case: str) -> None:
    fixture = fixtures_dir / f"edgeflow_random_case_{case}.npz"
    _assert_within_tolerance(edgeflow_dynamic_model, fixture, {"instances", "instances_aux", "instances_edge"})


@pytest.mark.parametrize("case", EDGEFLOW_CASES)
def test_edgeflow_static_export_matches_paddle(
    edgeflow_static_model: LoadedModel, fixtures_dir: Path, case: str
) -> None:
    fixture = fixtures_dir / f"edgeflow_random_case_{case}.npz"
    _assert_within_tolerance(edgeflow_static_model, fixture, {"instances", "instances_aux", "instances_edge"})


@pytest.mark.parametrize(
    ("model_fixture", "fixture_name"),
    [("hrnet18_model", "ritm_hrnet18_ocr64_case_a.npz"), ("edgeflow_dynamic_model", "edgeflow_random_case_a.npz")],
)
def test_inference_optimized_networks_match_paddle(
    request: pytest.FixtureRequest, fixtures_dir: Path, model_fixture: str, fixture_name: str
) -> None:
    model: LoadedModel = request.getfixturevalue(model_fixture)
    fused = dataclasses.replace(model, network=optimize_for_inference(model.network))
    _assert_within_tolerance(fused, fixtures_dir / fixture_name, set(ARCHITECTURES[model.arch].outputs))


def _verify(fixture: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "ml.weights", "verify", str(fixture), *extra]
    return subprocess.run(command, cwd=REPO_DIR, capture_output=True, text=True, timeout=600)


def test_cli_verify_passes_on_a_fixture(fixtures_dir: Path) -> None:
    result = _verify(fixtures_dir / "ritm_hrnet18_ocr64_case_c.npz", "--model", "hrnet18-ocr64-cocolvis")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "out0" in result.stdout and "PASS" in result.stdout


def test_cli_verify_fails_on_a_doctored_fixture(fixtures_dir: Path, tmp_path: Path) -> None:
    with np.load(fixtures_dir / "ritm_hrnet18_ocr64_case_c.npz") as archive:
        data = {key: archive[key] for key in archive.files}
    data["out1"] = data["out1"].copy()
    data["out1"][10:20, 10:20] += 0.5
    doctored = tmp_path / "doctored.npz"
    np.savez(doctored, **data)
    result = _verify(doctored, "--model", "hrnet18-ocr64-cocolvis")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED: instances_aux" in result.stdout


def test_cli_verify_reports_errors_with_exit_code_2(tmp_path: Path) -> None:
    result = _verify(tmp_path / "missing.npz", "--model", "hrnet18-ocr64-cocolvis")
    assert result.returncode == 2
    assert "error:" in result.stderr
