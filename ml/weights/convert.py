"""Convert any supported weight file into a project checkpoint (optionally registering it)."""

from __future__ import annotations

from pathlib import Path

from ml.model.build import arch_spec
from ml.weights.checkpoint import CheckpointMeta, save_checkpoint
from ml.weights.formats import load_weights_file
from ml.weights.registry import checkpoint_path


def default_name(path: Path) -> str:
    """A registry name derived from a file name: ``static_hrnet18_ocr64.pdmodel`` → ``static-hrnet18-ocr64``."""
    return path.stem.replace("_", "-")


def convert(
    path: str | Path,
    arch: str | None = None,
    out: str | Path | None = None,
    name: str | None = None,
    source: dict[str, str] | None = None,
) -> Path:
    """Write ``path`` as a checkpoint to ``out``, or register it as ``name`` (default: from the file name).

    ``source`` overrides the recorded provenance (e.g. to name the wheel a file was extracted from).
    """
    path = Path(path)
    loaded = load_weights_file(path, arch)
    name = name or (Path(out).stem if out else default_name(path))
    target = Path(out) if out else checkpoint_path(name)
    previous = loaded.meta
    meta = CheckpointMeta(
        name=name,
        arch=loaded.arch,
        prev_channel=previous.prev_channel if previous else arch_spec(loaded.arch).prev_channel,
        source=source or loaded.source,
        **({"mean": previous.mean, "std": previous.std} if previous else {}),
    )
    return save_checkpoint(target, loaded.network, meta)
