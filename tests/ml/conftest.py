"""Fixtures for the network/weight tests: the shared reference directory and session-wide loaded models."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.model.loaded import LoadedModel
from ml.paths import shared_dir


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """``<shared>/fixtures`` (``$EDGEFLOW_SHARED_DIR``, default ``<repo>/../shared``); fails when absent."""
    path = shared_dir() / "fixtures"
    if not path.is_dir():
        pytest.fail(f"shared fixtures not found at {path}")
    return path


@pytest.fixture(scope="session")
def hrnet18_model() -> LoadedModel:
    """The registered pretrained model (``python -m ml.weights fetch`` runs before the suite)."""
    from ml.weights import load_model

    return load_model("hrnet18-ocr64-cocolvis")


@pytest.fixture(scope="session")
def edgeflow_dynamic_model(fixtures_dir: Path) -> LoadedModel:
    """EdgeFlow with the random test weights from the dynamic-graph ``.pdparams``."""
    from ml.weights import load_model

    return load_model("edgeflow", fixtures_dir / "edgeflow_random.pdparams")


@pytest.fixture(scope="session")
def edgeflow_static_model(fixtures_dir: Path) -> LoadedModel:
    """EdgeFlow with the same weights read from the static ``.pdmodel``/``.pdiparams`` export."""
    from ml.weights import load_model

    return load_model("edgeflow", fixtures_dir / "edgeflow_random.pdmodel")
