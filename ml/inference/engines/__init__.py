"""Engines by name, one :class:`~ml.inference.engines.base.Engine` interface; pick one with :func:`create_engine`.

- ``torch``: eager PyTorch, the reference every other engine is tested against.
- ``torch-fused``: PyTorch on an inference copy (BatchNorm folded into convolutions, channels-last weights).
- ``openvino``: the network converted to OpenVINO (dynamic sizes, IR cached under ``<var>/cache/openvino``), f32.
- ``openvino-bf16``: the same in bfloat16 on CPUs with AMX/AVX512-BF16: fastest, but outside the 1e-3 parity
  tolerance (logits move by ~1 % of their range), so never the default; opt in with the engine name.
- ``openvino-int8``: NNCF post-training INT8 quantisation calibrated on training images with simulated clicks
  (``ml.inference.engines.int8``); may serve only where its NoC guard passed (``ml.inference.engines.guard``).
- ``torch-cuda``: PyTorch on the GPU (``cuda:0``), BatchNorm folded as in ``torch-fused``, in strict f32 (TF32
  turned off for convolutions and matmuls, no autocast/fp16: reduced precision would need the NoC guard run on a
  GPU). Inputs go to the GPU and the logits come back as NumPy, inside the engine. Only where torch sees a GPU.

The default is a GPU that torch sees, else the fastest installed CPU engine (measured in
``docs/results/forward_engines.md``): see ``choice``. When an engine cannot be built (package missing, no GPU for
``torch-cuda``, conversion or its parity check failing), :func:`create_engine` logs a warning naming the reason and
falls back to ``torch`` on the CPU so that inference keeps working.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
from collections.abc import Callable

import torch

from ml.inference.engines import choice
from ml.inference.engines.base import Engine, TorchEngine
from ml.inference.engines.choice import FULL_PRECISION, GPU_ENGINES, choose_engine, no_gpu_reason
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


def strict_f32_on_gpu() -> None:
    """Run CUDA convolutions and matmuls in IEEE f32: cuDNN would otherwise use TF32 (10-bit mantissa) on Ampere
    and later GPUs, outside the parity tolerance the f32 engines keep. Process-wide, like the thread count."""
    backends = torch.backends
    if hasattr(backends.cudnn, "fp32_precision"):  # torch >= 2.9; the legacy flags must not be mixed with these
        backends.cudnn.fp32_precision = "ieee"
        backends.cuda.matmul.fp32_precision = "ieee"
    else:  # pragma: no cover - older torch
        backends.cudnn.allow_tf32 = False
        backends.cuda.matmul.allow_tf32 = False


def _torch_cuda(loaded: LoadedModel, threads: int | None) -> Engine:
    gpu = choice.gpu_info()
    if gpu is None:
        raise RuntimeError(f"torch-cuda needs a GPU: {no_gpu_reason()}")
    strict_f32_on_gpu()
    # A folded copy (on the CPU) is what moves to the GPU: loaded.network stays on the CPU for any fallback.
    network = optimize_for_inference(loaded.network, channels_last=False)
    engine = TorchEngine(dataclasses.replace(loaded, network=network), threads, gpu.device, gpu.describe())
    engine.engine_name = "torch-cuda"
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
    "torch-cuda": _torch_cuda,
}
_PACKAGES = {"openvino": "openvino", "openvino-bf16": "openvino", "openvino-int8": "nncf"}


def is_installed(engine: str) -> bool:
    """Whether the package ``engine`` needs can be imported here (for ``torch-cuda``: whether torch sees a GPU)."""
    if engine in GPU_ENGINES:
        return choice.gpu_info() is not None
    package = _PACKAGES.get(engine)
    return package is None or importlib.util.find_spec(package) is not None


def default_engine(loaded: LoadedModel | None = None) -> str:
    """For ``loaded``: ``torch-cuda`` where torch sees a GPU, else the fastest installed engine this CPU runs
    natively whose accuracy guard passed for its weights (``choice.choose_engine``); without a model, the GPU's
    or the fastest within the parity tolerance."""
    if loaded is None:
        return next(name for name in GPU_ENGINES + FULL_PRECISION if is_installed(name))
    return choose_engine(loaded, [name for name in ENGINES if is_installed(name)])


def engine_name(engine: Engine) -> str:
    """Which engine kind ``engine`` is (``torch`` for a plain :class:`TorchEngine`)."""
    return str(getattr(engine, "engine_name", type(engine).__name__))


def engine_device(engine: Engine) -> str:
    """Where ``engine`` runs: ``"cpu"`` (OpenVINO's engines, PyTorch on the CPU) or its GPU, ``"cuda:0 (NVIDIA …)"``."""
    return str(getattr(engine, "device_label", "cpu"))


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


__all__ = ["ENGINES", "REFERENCE", "create_engine", "default_engine", "engine_device", "engine_name", "is_installed"]
