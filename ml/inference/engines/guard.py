"""The NoC guard: an engine outside the logit parity tolerance (``openvino-int8``, ``openvino-bf16``) may serve
only when annotators would need the same number of clicks with it as with the f32 reference (``openvino``).

What annotators feel is clicks needed × seconds per click, so the contract is NoC, not logits: on GrabCut and
Berkeley (``<shared>/data/bench``), NoC@85 and NoC@90 at most :data:`NOC_TOLERANCE` above the reference and no
more samples at the click limit (RITM's "≥max@90"). Both engines run the same protocol (RITM clicker, zoom-in,
20 clicks); a sample stops once it reaches IoU 0.9, which leaves NoC@85/90 and the failures exact.

The verdict is written as JSON next to the engine's IR (``<ir stem>.<engine>.guard.json``), with the weights
digest it was measured for; :func:`guard_passed` reads it. A run on a subset (``limit``) is written to its own
file (``...guard-limit<N>.json``) and never counts as passed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ml.inference.engines.base import Engine
from ml.inference.engines.choice import REDUCED_PRECISION, CpuInfo, cpu_info
from ml.model.loaded import LoadedModel
from ml.paths import shared_dir

REFERENCE_ENGINE = "openvino"
GUARDED = REDUCED_PRECISION  # the engines outside the logit tolerance
DATASETS = ("grabcut", "berkeley")
TARGETS = (0.85, 0.9)
MAX_CLICKS = 20
NOC_TOLERANCE = 0.05


@dataclass(frozen=True)
class GuardSettings:
    """What the guard evaluates: the datasets under ``<shared>/data/bench``, the first ``limit`` samples of each."""

    datasets: tuple[str, ...] = DATASETS
    limit: int | None = None
    max_clicks: int = MAX_CLICKS


def bench_dir() -> Path:
    """``<shared>/data/bench``: the benchmark sets the guard measures (never used for calibration)."""
    return shared_dir() / "data" / "bench"


def engine_ir(loaded: LoadedModel, engine: str, directory: Path | None = None) -> Path:
    """The IR file ``engine`` serves ``loaded`` from (without building it)."""
    from ml.inference.engines.openvino import cache_dir, ir_path

    directory = directory or cache_dir()
    if engine == "openvino-int8":
        from ml.inference.engines.int8 import int8_ir_path

        return int8_ir_path(loaded, directory)
    if engine in GUARDED or engine == REFERENCE_ENGINE:
        return ir_path(loaded, directory)
    raise ValueError(f"engine {engine!r} has no IR to guard; guarded engines: {', '.join(GUARDED)}")


def guard_path(loaded: LoadedModel, engine: str, limit: int | None = None, directory: Path | None = None) -> Path:
    """``<ir stem>.<engine>.guard.json`` beside the IR (``.guard-limit<N>.json`` for a subset run)."""
    ir = engine_ir(loaded, engine, directory)
    suffix = "guard" if limit is None else f"guard-limit{limit}"
    return ir.with_name(f"{ir.stem}.{engine}.{suffix}.json")


def evaluate_engine(
    engine: Engine, dataset: str, settings: GuardSettings, progress: bool = True, root: Path | None = None
) -> dict[str, Any]:
    """NoC@85/90, failures and ≥max counts of ``engine`` on one benchmark set, with the IoUs per sample."""
    from ml.evaluation import metrics
    from ml.evaluation.folder import FolderDataset
    from ml.evaluation.runner import evaluate_dataset
    from ml.inference import ClickSession

    samples = FolderDataset((root or bench_dir()) / dataset)
    session = ClickSession(engine)
    stop = max(TARGETS)
    results = evaluate_dataset(session, samples, settings.max_clicks, stop, settings.limit, progress)
    ious = [r.ious for r in results]
    figures: dict[str, Any] = {"samples": len(results)}
    for target in TARGETS:
        label = f"{round(target * 100)}"
        figures[f"noc{label}"] = metrics.noc(ious, target, settings.max_clicks)
        figures[f"fail{label}"] = metrics.failures(ious, target, settings.max_clicks)
        figures[f"at_max{label}"] = metrics.at_max(ious, target, settings.max_clicks)
    figures["clicks_per_sample"] = [metrics.clicks_to_reach(v, stop, settings.max_clicks) for v in ious]
    return figures


def compare(reference: dict[str, Any], candidate: dict[str, Any], tolerance: float = NOC_TOLERANCE) -> bool:
    """Whether ``candidate`` needs at most ``tolerance`` more clicks than the reference at NoC@85 and NoC@90 and
    has no more ≥max@90 samples. One-sided: an engine that needs fewer clicks costs annotators nothing (bf16 on
    an AVX512-BF16 EPYC: GrabCut NoC@85/90 1.50/1.68 → 1.44/1.62)."""
    within = all(candidate[key] <= reference[key] + tolerance + 1e-9 for key in ("noc85", "noc90"))
    return within and candidate["at_max90"] <= reference["at_max90"]


def run_guard(
    loaded: LoadedModel,
    engine: str,
    settings: GuardSettings | None = None,
    threads: int | None = None,
    progress: bool = True,
    write: bool = True,
    root: Path | None = None,
) -> dict[str, Any]:
    """Evaluate ``engine`` and the f32 reference on the guard's sets; the verdict, written beside the IR."""
    from ml.inference.engines import create_engine, engine_name
    from ml.inference.engines.openvino import weights_digest

    settings = settings or GuardSettings()
    started = time.perf_counter()
    engines = {}
    for role, name in (("reference", REFERENCE_ENGINE), ("candidate", engine)):
        built = create_engine(loaded, name, threads)
        if engine_name(built) != name:
            raise RuntimeError(f"engine {name!r} could not be built for {loaded.name} (got {engine_name(built)})")
        engines[role] = built
    datasets: dict[str, Any] = {}
    for dataset in settings.datasets:
        reference = evaluate_engine(engines["reference"], dataset, settings, progress, root)
        candidate = evaluate_engine(engines["candidate"], dataset, settings, progress, root)
        datasets[dataset] = {
            REFERENCE_ENGINE: reference,
            engine: candidate,
            "delta_noc85": candidate["noc85"] - reference["noc85"],
            "delta_noc90": candidate["noc90"] - reference["noc90"],
            "passed": compare(reference, candidate),
        }
    result = {
        "engine": engine,
        "reference_engine": REFERENCE_ENGINE,
        "model": loaded.name,
        "weights_digest": weights_digest(loaded),
        "ir": str(engine_ir(loaded, engine)),
        "max_clicks": settings.max_clicks,
        "limit": settings.limit,
        "tolerance": NOC_TOLERANCE,
        "datasets": datasets,
        "passed": all(entry["passed"] for entry in datasets.values()),
        "complete": settings.limit is None and set(DATASETS) <= set(settings.datasets),
        "seconds": time.perf_counter() - started,
        "cpu": cpu_info().as_dict(),
    }
    if write:
        path = guard_path(loaded, engine, settings.limit)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        partial.write_text(json.dumps(result, indent=2) + "\n")
        partial.replace(path)
        result["path"] = str(path)
    return result


def guard_passed(loaded: LoadedModel, engine: str, cpu: CpuInfo | None = None) -> bool | None:
    """Whether ``engine`` may serve ``loaded`` on ``cpu`` (default: this one): ``True``/``False`` from its complete
    guard run for the current weights on a CPU of the same kind, ``None`` when it never ran (or ran for other
    weights, on another kind of CPU, or only on a subset). Engines within the parity tolerance of the reference
    (``torch``, ``torch-fused``, ``openvino``) need no guard: ``True``."""
    if engine not in GUARDED:
        return True
    from ml.inference.engines.openvino import weights_digest

    path = guard_path(loaded, engine)
    if not path.is_file():
        return None
    try:
        result = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if result.get("weights_digest") != weights_digest(loaded) or not result.get("complete"):
        return None
    if not same_cpu_kind(result.get("cpu") or {}, (cpu or cpu_info()).as_dict()):
        return None  # int8 kernels differ by instruction set: it passed on an AVX2 EPYC and failed on an AVX-512 one
    return verdict(result)


def same_cpu_kind(recorded: dict[str, Any], current: dict[str, Any]) -> bool:
    """Whether a guard run on ``recorded`` speaks for ``current``: the same inference instruction sets and
    OpenVINO capabilities (the model name may differ between two machines of one kind)."""
    keys = ("flags", "capabilities")
    return all(list(recorded.get(key) or []) == list(current.get(key) or []) for key in keys)


def verdict(result: dict[str, Any]) -> bool:
    """The recorded run judged by today's :func:`compare` (so a changed rule needs no re-run)."""
    try:
        return all(
            compare(entry[result["reference_engine"]], entry[result["engine"]]) for entry in result["datasets"].values()
        )
    except (KeyError, TypeError, AttributeError):
        return bool(result.get("passed"))


def format_result(result: dict[str, Any]) -> Sequence[str]:
    """Human-readable lines of a guard result."""
    engine, reference = result["engine"], result["reference_engine"]
    lines = [
        f"{result['model']}: {engine} vs {reference} (at most +{result['tolerance']} clicks, limit {result['limit']})"
    ]
    for name, entry in result["datasets"].items():
        ref, cand = entry[reference], entry[engine]
        lines.append(
            f"  {name:<9} NoC@85 {ref['noc85']:.3f} -> {cand['noc85']:.3f}  NoC@90 {ref['noc90']:.3f} -> "
            f"{cand['noc90']:.3f}  >=max@90 {ref['at_max90']} -> {cand['at_max90']}  "
            f"{'passed' if entry['passed'] else 'FAILED'}"
        )
    lines.append(f"  guard {'PASSED' if result['passed'] else 'FAILED'} in {result['seconds']:.0f} s")
    if "path" in result:
        lines.append(f"  written to {result['path']}")
    return lines
