"""``load_model``: the one entry point the rest of the project uses to get a runnable network."""

from __future__ import annotations

from pathlib import Path

from ml.model.build import ARCHITECTURES, arch_spec
from ml.model.loaded import LoadedModel
from ml.weights.checkpoint import IMAGENET_MEAN, IMAGENET_STD, CheckpointMeta, read_checkpoint_meta
from ml.weights.errors import WeightsError
from ml.weights.formats import load_weights_file
from ml.weights.registry import checkpoint_path, is_registered, registered_models


def _unknown_model(model: str) -> WeightsError:
    names = [name for name, _ in registered_models()]
    return WeightsError(
        f"unknown model {model!r}: registered models are {names or 'none (run `python -m ml.weights fetch`)'}; "
        f"or pass an architecture ({', '.join(ARCHITECTURES)}) with a weight file"
    )


def load_model(model: str, weights: str | Path | None = None) -> LoadedModel:
    """Load a registered model, or an architecture / registered model with an explicit weight file.

    - ``load_model("hrnet18-ocr64-cocolvis")``: the registered checkpoint ``<var>/models/<name>.pt``.
    - ``load_model("edgeflow", "x.pdparams")``: architecture + any supported file (``.pdparams``,
      ``.pdmodel`` with its ``.pdiparams`` beside it, or a project ``.pt`` checkpoint).
    - ``load_model("hrnet18-ocr64-cocolvis", "other.pt")``: the registered model's architecture and input
      conventions with other weights.

    Raises :class:`~ml.weights.errors.WeightsMismatchError` (naming the first mismatching parameter and
    both shapes) when the file belongs to another architecture.
    """
    registered: CheckpointMeta | None = read_checkpoint_meta(checkpoint_path(model)) if is_registered(model) else None
    if weights is None:
        if registered is None:
            if model in ARCHITECTURES:
                raise WeightsError(f"{model!r} is an architecture: pass a weight file too")
            raise _unknown_model(model)
        weights = checkpoint_path(model)
    if registered is not None:
        arch = registered.arch
    elif model in ARCHITECTURES:
        arch = model
    else:
        raise _unknown_model(model)
    loaded = load_weights_file(weights, arch)
    meta = registered or loaded.meta
    if meta is not None:
        return LoadedModel(model, arch, loaded.network, meta.mean, meta.std, meta.prev_channel)
    return LoadedModel(model, arch, loaded.network, IMAGENET_MEAN, IMAGENET_STD, arch_spec(arch).prev_channel)
