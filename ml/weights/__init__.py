"""Weight loading: Paddle dynamic/static formats, project checkpoints and the model registry.

Public API: :func:`load_model` (returns :class:`~ml.model.loaded.LoadedModel`), :func:`load_weights_file`,
:func:`registered_models`, and the errors :class:`WeightsError` /
:class:`WeightsMismatchError`. CLI: ``python -m ml.weights --help``.

Names are imported on first use (PEP 562): reading the registry (``ml.weights.registry``) does not import PyTorch.
Conversion is ``ml.weights.convert.convert`` (not re-exported: its module has the same name, which a lazy name
could not shadow).
"""

from ml.lazy_names import lazy_getattr

_SOURCES = {
    "LoadedModel": "ml.model.loaded",
    "WeightsError": "ml.weights.errors",
    "WeightsMismatchError": "ml.weights.errors",
    "load_weights_file": "ml.weights.formats",
    "load_model": "ml.weights.loader",
    "checkpoint_path": "ml.weights.registry",
    "registered_models": "ml.weights.registry",
}

__all__ = sorted(_SOURCES)

__getattr__ = lazy_getattr("ml.weights", _SOURCES)
