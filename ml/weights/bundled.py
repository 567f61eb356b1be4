"""Models committed to the repository (``<repo>/models/*.pt``), installed into the registry by ``fetch``.

The registry is ``<var>/models``; ``python -m ml.weights fetch`` (run by ``make run`` and ``make test``)
copies every committed checkpoint there when it is missing or differs, without any network access.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ml.paths import REPO_DIR
from ml.weights.checkpoint import read_checkpoint_meta, sha256_of
from ml.weights.registry import checkpoint_path

BUNDLED_DIR = REPO_DIR / "models"


def bundled_checkpoints(directory: Path = BUNDLED_DIR) -> list[Path]:
    """Committed project checkpoints, sorted by name."""
    return sorted(directory.glob("*.pt")) if directory.is_dir() else []


def install_bundled(directory: Path = BUNDLED_DIR) -> list[tuple[str, bool]]:
    """Register every committed checkpoint; return ``(name, copied)`` pairs (``False``: already current)."""
    installed = []
    for source in bundled_checkpoints(directory):
        read_checkpoint_meta(source)  # refuse anything that is not a project checkpoint
        target = checkpoint_path(source.stem)
        current = target.is_file() and sha256_of(target) == sha256_of(source)
        if not current:
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.part")
            shutil.copyfile(source, partial)
            partial.replace(target)
        installed.append((source.stem, not current))
    return installed
