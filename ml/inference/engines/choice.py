"""Which engine a model runs on here: the fastest one this CPU runs natively whose accuracy guard passed.

Speed differs by CPU: INT8 runs natively everywhere OpenVINO reports ``INT8`` (VNNI/AMX make it faster still);
bf16 only pays where the CPU has AMX or AVX512-BF16 (OpenVINO reports ``BF16``) — elsewhere it is emulated and
slower than f32. Accuracy is judged by clicks, not logits: a reduced-precision engine is chosen only when its
guard (``ml.inference.engines.guard``: NoC@85/90 on GrabCut and Berkeley at most 0.05 above f32, no more failures)
passed for that model's weights. ``INFERENCE_ENGINE`` (passed as ``wanted``) still overrides everything.
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ml.model.loaded import LoadedModel

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


def runs_natively(engine: str, cpu: CpuInfo) -> bool:
    """Whether ``engine``'s precision is native on ``cpu`` (not emulated, which is slower than f32)."""
    if engine == "openvino-int8":
        return "INT8" in cpu.capabilities
    if engine == "openvino-bf16":
        return "BF16" in cpu.capabilities
    return True


def candidates(cpu: CpuInfo) -> list[str]:
    """Engines to try, fastest first, for this CPU (before installation and guards are checked)."""
    return [engine for engine in REDUCED_PRECISION if runs_natively(engine, cpu)] + list(FULL_PRECISION)


def choose_engine(loaded: LoadedModel, installed: list[str], cpu: CpuInfo | None = None) -> str:
    """The engine for ``loaded``: the first of :func:`candidates` that is installed and, for a reduced precision,
    whose guard passed for these weights."""
    from ml.inference.engines.guard import guard_passed

    cpu = cpu or cpu_info()
    for engine in candidates(cpu):
        if engine not in installed:
            continue
        if engine in REDUCED_PRECISION and guard_passed(loaded, engine, cpu) is not True:
            continue
        return engine
    return "torch"
