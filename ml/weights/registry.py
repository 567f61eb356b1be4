"""The model registry: ``<var>/models/<name>.pt`` project checkpoints."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from ml.paths import models_dir
from ml.weights.errors import WeightsError

if TYPE_CHECKING:  # reading checkpoints needs PyTorch; names and paths do not
    from ml.weights.checkpoint import CheckpointMeta

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def checkpoint_path(name: str) -> Path:
    """Where the registered model ``name`` lives (whether or not it exists)."""
    if not _NAME.match(name) or name.endswith(".pt"):
        raise WeightsError(f"invalid model name {name!r}: use letters, digits, '.', '_' and '-'")
    return models_dir() / f"{name}.pt"


def is_registered(name: str) -> bool:
    """True when a checkpoint named ``name`` exists in the registry."""
    return _NAME.match(name) is not None and checkpoint_path(name).is_file()


def registered_names() -> list[str]:
    """The names of all registered models, sorted (no checkpoint is opened: cheap enough for every request)."""
    directory = models_dir()
    if not directory.is_dir():
        return []
    return sorted(path.stem for path in directory.glob("*.pt") if _NAME.match(path.stem))


def registered_models() -> list[tuple[str, CheckpointMeta]]:
    """All registered models, sorted by name, with their metadata."""
    directory = models_dir()
    if not directory.is_dir():
        return []
    from ml.weights.checkpoint import read_checkpoint_meta

    return [(path.stem, read_checkpoint_meta(path)) for path in sorted(directory.glob("*.pt"))]
