"""Which engine a model runs on here: on a GPU that torch sees, ``torch-cuda``; else the fastest engine this CPU
runs natively whose accuracy guard passed.

Speed differs by CPU: INT8 runs natively everywhere OpenVINO reports ``INT8`` (VNNI/AMX make it faster still);
bf16 only pays where the CPU has AMX or AVX512-BF16 (OpenVINO reports ``BF16``) — elsewhere it is emulated and
slower than f32. Accuracy is judged by clicks, not logits: a reduced-precision engine is chosen only when its
guard (``ml.inference.engines.guard``: NoC@85/90 on GrabCut and Berkeley at most 0.05 above f32, no more failures)
passed for that model's weights. ``INFERENCE_ENGINE`` (passed as ``wanted``) still overrides everything.

A GPU comes first whenever torch sees one (:func:`gpu_info`: a CUDA build of torch, a driver and a visible
device): ``torch-cuda`` runs the f32 network there, within the parity tolerance like the CPU's f32 engines, and
one forward on any CUDA GPU is several times faster than on a few CPU cores. Reduced precision on the GPU
(fp16/autocast, TF32) is not offered: like int8/bf16 on the CPU it would need the NoC guard, run on a GPU.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ml.model.loaded import LoadedModel

GPU_ENGINES = ("torch-cuda",)  # chosen first wherever torch sees a GPU
REDUCED_PRECISION = ("openvino-int8", "openvino-bf16")  # chosen only with a passed guard
FULL_PRECISION = ("openvino", "torch-fused", "torch")  # within the logits tolerance of the reference
CPU_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


@dataclass(frozen=True)
class CpuInfo:
    model: str
    flags: tuple[str, ...]  # those of CPU_FLAGS the CPU has
    capabilities: tuple[str, ...]  # OpenVINO's OPTIMIZATION_CAPABILITIES ("FP32", "INT8", "BF16", ...)

    def as_dict(self) -> dict:
        return asdict(self)


def _cpuinfo_line(key: str, text: str) -> str:
    for line in text.splitlines():
        if line.split(":", 1)[0].strip() == key:
            return line.split(":", 1)[1].strip()
    return ""


@cache
def cpu_info() -> CpuInfo:
    """This machine's CPU: its name, the instruction sets that matter for inference, OpenVINO's capabilities."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    flags = set(_cpuinfo_line("flags", text).split())
    capabilities: tuple[str, ...] = ()
    if importlib.util.find_spec("openvino") is not None:
        import openvino

        capabilities = tuple(openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
    return CpuInfo(
        model=_cpuinfo_line("model name", text) or "unknown",
        flags=tuple(flag for flag in CPU_FLAGS if flag in flags),
        capabilities=capabilities,
    )


@dataclass(frozen=True)
class GpuInfo:
    device: str  # the torch device the engine runs on: "cuda:0" (the first device CUDA_VISIBLE_DEVICES leaves)
    name: str  # "NVIDIA L4"
    capability: str  # CUDA compute capability, "8.9"
    memory_mb: int
    cuda: str  # the CUDA version torch was built with

    def describe(self) -> str:
        """``"cuda:0 (NVIDIA L4)"``: what a worker's status names as its device."""
        return f"{self.device} ({self.name})"

    def as_dict(self) -> dict:
        return asdict(self)


@cache
def gpu_info() -> GpuInfo | None:
    """The GPU torch runs on here (its first visible CUDA device), or None when torch sees none: a CPU-only
    build of torch, no NVIDIA driver, no device, or ``CUDA_VISIBLE_DEVICES`` hiding them all."""
    import torch

    if not torch.cuda.is_available():
        return None
    properties = torch.cuda.get_device_properties(0)
    return GpuInfo(
        device="cuda:0",
        name=properties.name,
        capability=f"{properties.major}.{properties.minor}",
        memory_mb=properties.total_memory // (1024 * 1024),
        cuda=str(torch.version.cuda),
    )


def no_gpu_reason() -> str:
    """Why torch sees no GPU here, in words an operator can act on."""
    import torch

    if torch.version.cuda is None:
        return f"torch {torch.__version__} is a CPU-only build; GPU machines install requirements-gpu.txt"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    hidden = f"; CUDA_VISIBLE_DEVICES={visible!r}" if visible is not None else ""
    return (
        f"torch {torch.__version__} (CUDA {torch.version.cuda}) sees no GPU: "
        f"torch.cuda.is_available() is False (no NVIDIA driver, or no visible device{hidden})"
    )


def device_description() -> str:
    """The device the default engine choice would run on here: the GPU's :meth:`GpuInfo.describe`, or ``cpu``."""
    gpu = gpu_info()
    return gpu.describe() if gpu is not None else "cpu"


def runs_natively(engine: str, cpu: CpuInfo) -> bool:
    """Whether ``engine``'s precision is native on ``cpu`` (not emulated, which is slower than f32)."""
    if engine == "openvino-int8":
        return "INT8" in cpu.capabilities
    if engine == "openvino-bf16":
        return "BF16" in cpu.capabilities
    return True


def candidates(cpu: CpuInfo, gpu: bool = False) -> list[str]:
    """Engines to try, fastest first, for this CPU and, with ``gpu``, a GPU torch sees (before installation and
    guards are checked)."""
    on_gpu = list(GPU_ENGINES) if gpu else []
    return on_gpu + [engine for engine in REDUCED_PRECISION if runs_natively(engine, cpu)] + list(FULL_PRECISION)


def choose_engine(loaded: LoadedModel, installed: list[str], cpu: CpuInfo | None = None) -> str:
    """The engine for ``loaded``: the first of :func:`candidates` that is installed and, for a reduced precision,
    whose guard passed for these weights. ``torch-cuda`` counts as installed only where torch sees a GPU
    (``ml.inference.engines.is_installed``), so ``installed`` is where a test says there is one."""
    from ml.inference.engines.guard import guard_passed

    cpu = cpu or cpu_info()
    gpu = any(engine in installed for engine in GPU_ENGINES)
    for engine in candidates(cpu, gpu):
        if engine not in installed:
            continue
        if engine in REDUCED_PRECISION and guard_passed(loaded, engine, cpu) is not True:
            continue
        return engine
    return "torch"
