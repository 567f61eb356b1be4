"""Engines by name, one :class:`~ml.inference.engines.base.Engine` interface; pick one with :func:`create_engine`.

- ``torch``: eager PyTorch, the reference every other engine is tested against.
- ``torch-fused``: PyTorch on an inference copy (BatchNorm folded into convolutions, channels-last weights).
- ``openvino``: the network converted to OpenVINO (dynamic sizes, IR cached under ``<var>/cache/openvino``), f32.
- ``openvino-bf16``: the same in bfloat16 on CPUs with AMX/AVX512-BF16: fastest, but outside the 1e-3 parity
  tolerance (logits move by ~1 % of their range), so never the default; opt in with the engine name.
- ``openvino-int8``: NNCF post-training INT8 quantisation calibrated on training images with simulated clicks
  (``ml.inference.engines.int8``); may serve only where its NoC guard passed (``ml.inference.engines.guard``).

The default is the fastest installed one (measured in ``docs/results/forward_engines.md``). When an engine
cannot be built (package missing, conversion or its parity check failing), :func:`create_engine` logs a warning
and falls back to ``torch`` so that inference keeps working.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
from collections.abc import Callable

from ml.inference.engines.base import Engine, TorchEngine
from ml.inference.engines.choice import FULL_PRECISION, choose_engine
from ml.model.fuse import optimize_for_inference
from ml.model.loaded import LoadedModel

logger = logging.getLogger(__name__)

REFERENCE = "torch"


def _torch(loaded: LoadedModel, threads: int | None) -> Engine:
    return TorchEngine(loaded, threads)


def _torch_fused(loaded: LoadedModel, threads: int | None) -> Engine:
    engine = TorchEngine(dataclasses.replace(loaded, network=optimize_for_inference(loaded.network)), threads)
    engine.engine_name = "torch-fused"
    return engine


def _openvino(loaded: LoadedModel, threads: int | None) -> Engine:
    from ml.inference.engines.openvino import OpenVINOEngine

    return OpenVINOEngine(loaded, threads)


def _openvino_bf16(loaded: LoadedModel, threads: int | None) -> Engine:
    from ml.inference.engines.openvino import OpenVINOEngine

    return OpenVINOEngine(loaded, threads, precision="bf16")


def _openvino_int8(loaded: LoadedModel, threads: int | None) -> Engine:
    from ml.inference.engines.openvino import OpenVINOEngine

    return OpenVINOEngine(loaded, threads, precision="int8")


ENGINES: dict[str, Callable[[LoadedModel, int | None], Engine]] = {
    "torch": _torch,
    "torch-fused": _torch_fused,
    "openvino": _openvino,
    "openvino-bf16": _openvino_bf16,
    "openvino-int8": _openvino_int8,
}
_PACKAGES = {"openvino": "openvino", "openvino-bf16": "openvino", "openvino-int8": "nncf"}


def is_installed(engine: str) -> bool:
    """Whether the package ``engine`` needs can be imported here."""
    package = _PACKAGES.get(engine)
    return package is None or importlib.util.find_spec(package) is not None


def default_engine(loaded: LoadedModel | None = None) -> str:
    """For ``loaded``: the fastest installed engine this CPU runs natively whose accuracy guard passed for its
    weights (``choice.choose_engine``); without a model, the fastest within the parity tolerance."""
    if loaded is None:
        return next(name for name in FULL_PRECISION if is_installed(name))
    return choose_engine(loaded, [name for name in ENGINES if is_installed(name)])


def engine_name(engine: Engine) -> str:
    """Which engine kind ``engine`` is (``torch`` for a plain :class:`TorchEngine`)."""
    return str(getattr(engine, "engine_name", type(engine).__name__))


def create_engine(loaded: LoadedModel, engine: str | None = None, threads: int | None = None) -> Engine:
    """Build engine ``engine`` (default: :func:`default_engine`) for ``loaded``; fall back to ``torch`` on failure.

    Raises ``ValueError`` for an unknown engine name.
    """
    name = engine or default_engine(loaded)
    if name not in ENGINES:
        raise ValueError(f"unknown inference engine {name!r}; known: {', '.join(ENGINES)}")
    try:
        return ENGINES[name](loaded, threads)
    except Exception as exc:  # any build failure must leave inference working on the reference engine
        if name == REFERENCE:
            raise
        logger.warning(
            "inference engine %r failed for %s (%s: %s); falling back to torch",
            name,
            loaded.name,
            type(exc).__name__,
            exc,
        )
        return TorchEngine(loaded, threads)


__all__ = ["ENGINES", "REFERENCE", "create_engine", "default_engine", "engine_name", "is_installed"]
