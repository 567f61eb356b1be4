"""The project's own checkpoint format: one torch file with a ``state_dict`` and its metadata.

Layout (``torch.save`` of a plain dict, loadable with ``weights_only=True``)::

    {"format": "edgeflow-studio-checkpoint", "version": 1,
     "meta": {"name", "arch", "mean", "std", "prev_channel", "input", "source", "created"},
     "state_dict": {torch name: tensor}}

``meta["source"]`` records provenance: ``{"path", "format", "sha256"}`` of the file converted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ml.model.loaded import PrevChannel
from ml.weights.errors import WeightsError

FORMAT = "edgeflow-studio-checkpoint"
VERSION = 1
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
INPUT_CONVENTION = {
    "image": "RGB, /255, then (x - mean) / std, N×3×H×W float32",
    "coord_features": "N×3×H×W: [previous mask or edge probability, positive disks, negative disks], radius 5",
}


@dataclass(frozen=True)
class CheckpointMeta:
    """Everything needed to run a checkpoint besides its tensors."""

    name: str
    arch: str
    prev_channel: PrevChannel
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    source: dict[str, str] = field(default_factory=dict)
    input: dict[str, str] = field(default_factory=lambda: dict(INPUT_CONVENTION))
    created: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckpointMeta:
        """Rebuild from the stored dict, tolerating unknown keys from newer writers."""
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        for key in ("mean", "std"):
            if key in known:
                known[key] = tuple(float(v) for v in known[key])
        return cls(**known)


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _stored(tensor: torch.Tensor, half: bool) -> torch.Tensor:
    """A detached CPU copy; with ``half``, weight tensors (≥ 2-D floats) become float16."""
    tensor = tensor.detach().cpu().clone()
    return tensor.half() if half and tensor.is_floating_point() and tensor.dim() >= 2 else tensor


def save_checkpoint(path: Path, network: nn.Module, meta: CheckpointMeta, half: bool = False) -> Path:
    """Write atomically (temporary file + rename) so readers never see a partial checkpoint.

    ``half`` stores convolution weights as float16 (half the size; loading casts them back to float32);
    1-D tensors (biases, BatchNorm statistics, scales) stay float32.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "meta": asdict(meta),
        "state_dict": {k: _stored(v, half) for k, v in network.state_dict().items()},
    }
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; checkpoints are ordinary shared files
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _load_payload(path: Path) -> dict[str, Any]:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # torch raises many types for foreign or corrupt files
        raise WeightsError(f"{path} is not a readable checkpoint: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise WeightsError(f"{path} is not an EdgeFlow Studio checkpoint (format {FORMAT!r})")
    if int(payload.get("version", 0)) > VERSION:
        raise WeightsError(f"{path} has checkpoint version {payload['version']}; this code reads up to {VERSION}")
    return payload


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], CheckpointMeta]:
    """Return (state_dict, metadata)."""
    payload = _load_payload(Path(path))
    return payload["state_dict"], CheckpointMeta.from_dict(payload["meta"])


def read_checkpoint_meta(path: Path) -> CheckpointMeta:
    """Metadata only (the tensors are memory-mapped, not read)."""
    return CheckpointMeta.from_dict(_load_payload(Path(path))["meta"])
