"""Locations of the project's writable ``var`` directory and the read-only ``shared`` references."""

from __future__ import annotations

import os
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    """``$EDGEFLOW_VAR_DIR`` or ``<repo>/var``."""
    return Path(os.environ.get("EDGEFLOW_VAR_DIR") or REPO_DIR / "var")


def models_dir() -> Path:
    """Registered model checkpoints: ``<var>/models/<name>.pt``."""
    return var_dir() / "models"


def wheels_dir() -> Path:
    """Downloaded wheels: ``<var>/cache/wheels``."""
    return var_dir() / "cache" / "wheels"


def shared_dir() -> Path:
    """``$EDGEFLOW_SHARED_DIR`` or ``<repo>/../shared`` (references and fixtures; tests only)."""
    return Path(os.environ.get("EDGEFLOW_SHARED_DIR") or REPO_DIR.parent / "shared")
