"""Read any supported weight file into a network of a given (or detected) architecture.

Supported: Paddle dynamic ``.pdparams``; Paddle static ``.pdmodel`` (or ``.pdiparams``) with its partner
beside it; project checkpoints ``.pt``/``.pth``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from torch import nn

from ml.model.build import ARCHITECTURES, build_network
from ml.weights.checkpoint import CheckpointMeta, read_checkpoint, sha256_of
from ml.weights.errors import WeightsError, WeightsMismatchError
from ml.weights.paddle_dynamic import pdparams_to_torch, read_pdparams
from ml.weights.paddle_static import StaticModel, read_static_model
from ml.weights.state import ArrayLike, apply_state
from ml.weights.static_mapping import map_static_model

PADDLE_DYNAMIC = "paddle-dynamic"
PADDLE_STATIC = "paddle-static"
CHECKPOINT = "checkpoint"

T = TypeVar("T")


@dataclass(frozen=True)
class LoadedWeights:
    """A network with weights applied (eval mode) and where they came from."""

    arch: str
    network: nn.Module
    source: dict[str, str]
    meta: CheckpointMeta | None = None  # set for project checkpoints


def file_format(path: Path) -> str:
    """Classify a weight file by its suffix."""
    suffix = path.suffix.lower()
    if suffix == ".pdparams":
        return PADDLE_DYNAMIC
    if suffix in (".pdmodel", ".pdiparams"):
        return PADDLE_STATIC
    if suffix in (".pt", ".pth"):
        return CHECKPOINT
    raise WeightsError(f"unsupported weight file {path}: expected .pdparams, .pdmodel/.pdiparams, .pt or .pth")


def _source(path: Path, kind: str) -> dict[str, str]:
    """Provenance; for static models ``sha256`` is the ``.pdiparams`` (the weights) and the program's is added."""
    if kind != PADDLE_STATIC:
        return {"path": str(path.resolve()), "format": kind, "sha256": sha256_of(path)}
    return {
        "path": str(path.resolve()),
        "format": kind,
        "sha256": sha256_of(path.with_suffix(".pdiparams")),
        "pdmodel_sha256": sha256_of(path),
    }


def _fit_static(model: StaticModel, arch: str) -> nn.Module:
    network = build_network(arch)
    state, never_run = map_static_model(network, model, arch)
    apply_state(network, state, arch, may_be_missing=never_run)
    return network


def _fit_state(state: Mapping[str, ArrayLike], arch: str) -> nn.Module:
    network = build_network(arch)
    apply_state(network, state, arch)
    return network


def _try_archs(arch: str | None, fit: Callable[[T, str], nn.Module], payload: T) -> tuple[str, nn.Module]:
    """Fit ``payload`` to ``arch``, or to the first architecture that accepts it when ``arch`` is None."""
    candidates = [arch] if arch else list(ARCHITECTURES)
    errors = []
    for candidate in candidates:
        try:
            return candidate, fit(payload, candidate)
        except WeightsMismatchError as exc:
            errors.append(str(exc))
    if arch:
        raise WeightsMismatchError(errors[0])
    raise WeightsMismatchError("the weights fit no known architecture:\n  " + "\n  ".join(errors))


def load_weights_file(path: str | Path, arch: str | None = None) -> LoadedWeights:
    """Build the network for ``arch`` (detected when None) and load ``path`` into it."""
    path = Path(path)
    kind = file_format(path)
    if not path.is_file():
        raise FileNotFoundError(f"weight file {path} does not exist")
    if kind == CHECKPOINT:
        state, meta = read_checkpoint(path)
        try:
            chosen, network = _try_archs(arch or meta.arch, _fit_state, state)
        except WeightsMismatchError as exc:
            raise WeightsMismatchError(f"{path} is a checkpoint for {meta.arch!r}: {exc}") from exc
        return LoadedWeights(chosen, network.eval(), dict(meta.source), meta)
    if kind == PADDLE_STATIC:
        model_path = path.with_suffix(".pdmodel")
        chosen, network = _try_archs(arch, _fit_static, read_static_model(model_path))
        return LoadedWeights(chosen, network.eval(), _source(model_path, kind))
    state = pdparams_to_torch(read_pdparams(path))
    chosen, network = _try_archs(arch, _fit_state, state)
    return LoadedWeights(chosen, network.eval(), _source(path, kind))
