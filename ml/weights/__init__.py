"""Weight loading: Paddle dynamic/static formats, project checkpoints and the model registry.

Public API: :func:`load_model` (returns :class:`~ml.model.loaded.LoadedModel`), :func:`load_weights_file`,
:func:`convert`, :func:`registered_models`, and the errors :class:`WeightsError` /
:class:`WeightsMismatchError`. CLI: ``python -m ml.weights --help``.
"""

from __future__ import annotations

from ml.model.loaded import LoadedModel
from ml.weights.convert import convert
from ml.weights.errors import WeightsError, WeightsMismatchError
from ml.weights.formats import load_weights_file
from ml.weights.loader import load_model
from ml.weights.registry import checkpoint_path, registered_models

__all__ = [
    "LoadedModel",
    "WeightsError",
    "WeightsMismatchError",
    "checkpoint_path",
    "convert",
    "load_model",
    "load_weights_file",
    "registered_models",
]
