"""``python -m ml.inference.engines prepare``: build (convert and cache) the inference engine of registered models.
``python -m ml.inference.engines guard --model M --engine openvino-int8 [--limit N]``: run the NoC guard.
``python -m ml.inference.engines device``: the device the default engine runs on here (the GPU torch sees, or
why it sees none); exit status 1 without a GPU, so a GPU machine's install can be checked with it.

Workers load their model when they start; running ``prepare`` once after ``python -m ml.weights fetch`` moves the
slow first conversion (tens of seconds for OpenVINO) out of the first click. ``prepare --int8`` also quantises the
``openvino-int8`` IR where the training images it calibrates on exist (``<shared>/data/train``; minutes per
model), and says so where they do not.

``prepare --reduced`` (run by ``make weights`` for the default model) readies the one reduced precision worth
having on this CPU and runs its NoC guard once per weights and kind of CPU: ``openvino-bf16`` where the CPU runs
bf16 natively (AMX, AVX512-BF16: as fast as int8 there, and only a guard run, ~2 min), else ``openvino-int8``
where it runs INT8 (AVX2 and up: quantising takes ~10 min, then the guard). The engine layer serves it only if
the guard passed (``choice.choose_engine``); otherwise f32 serves.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence

from ml.inference.engines import ENGINES, choice, create_engine, default_engine, engine_name, is_installed
from ml.inference.engines.choice import CpuInfo, cpu_info, no_gpu_reason, runs_natively
from ml.inference.engines.guard import DATASETS, GUARDED, MAX_CLICKS
from ml.model.loaded import LoadedModel
from ml.weights import load_model
from ml.weights.errors import WeightsError
from ml.weights.registry import registered_models


def _prepare(args: argparse.Namespace) -> int:
    names = args.model or [name for name, _ in registered_models()]
    if not names:
        print("no registered models (run `python -m ml.weights fetch`)")
    wanted = args.engine or default_engine()
    failed = False
    for name in names:
        start = time.perf_counter()
        loaded = load_model(name)
        engine = create_engine(loaded, wanted)
        failed |= engine_name(engine) != wanted
        print(f"{name}: engine {engine_name(engine)} ready in {time.perf_counter() - start:.1f} s")
        if args.int8 and wanted != INT8:
            _prepare_int8(loaded, args.threads)
        if args.reduced:
            _prepare_reduced(loaded, args.threads)
    return 1 if failed and args.strict else 0


def reduced_precision_for(cpu: CpuInfo) -> str | None:
    """The reduced precision ``prepare --reduced`` readies on ``cpu``: bf16 where native (no build, and as fast
    as int8 there), else int8 where native, else none."""
    for engine in (BF16, INT8):
        if runs_natively(engine, cpu):
            return engine
    return None


def _prepare_reduced(loaded: LoadedModel, threads: int | None) -> None:
    """Build (if needed) and guard (once per weights and kind of CPU) this CPU's reduced precision."""
    from ml.inference.engines.guard import bench_dir, guard_passed, run_guard

    name, engine = loaded.name, reduced_precision_for(cpu_info())
    if engine is None:
        print(f"{name}: this CPU runs no reduced precision natively; f32 serves")
        return
    if engine == INT8:
        _prepare_int8(loaded, threads)
        if not int8_built(loaded):
            return
    verdict = guard_passed(loaded, engine)
    if verdict is None:
        if not all((bench_dir() / dataset).is_dir() for dataset in DATASETS):
            print(f"{name}: {engine} guard not run (no benchmark sets at {bench_dir()}); f32 serves")
            return
        print(f"{name}: running the NoC guard of {engine} (minutes)")
        verdict = bool(run_guard(loaded, engine, threads=threads, progress=False)["passed"])
    print(f"{name}: {engine} guard {'passed: it serves here' if verdict else 'FAILED: f32 serves here'}")


def int8_built(loaded: LoadedModel) -> bool:
    from ml.inference.engines.int8 import int8_ir_path
    from ml.inference.engines.openvino import cache_dir

    return int8_ir_path(loaded, cache_dir()).is_file()


INT8 = "openvino-int8"
BF16 = "openvino-bf16"


def _prepare_int8(loaded: LoadedModel, threads: int | None) -> None:
    """Quantise (or find cached) the int8 IR of ``name`` when calibration is possible; say why not otherwise."""
    from ml.inference.engines.guard import guard_passed
    from ml.inference.engines.int8 import calibration_dir, int8_ir_path
    from ml.inference.engines.openvino import cache_dir

    name = loaded.name
    if not is_installed(INT8):
        print(f"{name}: {INT8} not built (nncf is not installed)")
        return
    if not int8_ir_path(loaded, cache_dir()).is_file() and not calibration_dir().is_dir():
        print(f"{name}: {INT8} not built (no calibration images at {calibration_dir()}); guard not run")
        return
    start = time.perf_counter()
    engine = create_engine(loaded, INT8, threads)
    if engine_name(engine) != INT8:
        print(f"{name}: {INT8} could not be built (see the warning above)")
        return
    verdict = {True: "passed", False: "FAILED", None: "not run"}[guard_passed(loaded, INT8)]
    print(f"{name}: engine {INT8} ready in {time.perf_counter() - start:.1f} s (NoC guard {verdict})")


def _guard(args: argparse.Namespace) -> int:
    from ml.inference.engines.guard import GuardSettings, format_result, run_guard

    settings = GuardSettings(datasets=tuple(args.dataset or DATASETS), limit=args.limit, max_clicks=args.max_clicks)
    result = run_guard(load_model(args.model), args.engine, settings, threads=args.threads, progress=not args.quiet)
    print("\n".join(format_result(result)))
    return 0 if result["passed"] else 1


def _device(_args: argparse.Namespace) -> int:
    import torch

    gpu = choice.gpu_info()
    print(f"torch {torch.__version__} (CUDA build: {torch.version.cuda or 'none'}); CPU: {cpu_info().model}")
    if gpu is None:
        print(f"device: cpu. No GPU: {no_gpu_reason()}")
        return 1
    print(f"device: {gpu.describe()}, compute capability {gpu.capability}, {gpu.memory_mb} MiB")
    print(f"default engine: {default_engine()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml.inference.engines", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="convert and cache the engine of registered models")
    p.add_argument("--model", action="append", help="registered model (repeatable; default: all registered)")
    p.add_argument("--engine", choices=sorted(ENGINES), help=f"default: {default_engine()}")
    p.add_argument("--strict", action="store_true", help="exit 1 when an engine fell back to torch")
    p.add_argument(
        "--int8",
        action=argparse.BooleanOptionalAction,
        default=False,
        help=f"also quantise {INT8} where its calibration images exist (default: no)",
    )
    p.add_argument(
        "--reduced",
        action="store_true",
        help="also ready this CPU's reduced precision (bf16 where native, else int8) and run its guard once",
    )
    p.add_argument("--threads", type=int, help="inference threads while quantising")
    p.set_defaults(func=_prepare)
    g = sub.add_parser("guard", help="NoC guard: an engine against the f32 reference on GrabCut and Berkeley")
    g.add_argument("--model", required=True, help="registered model")
    g.add_argument("--engine", default=INT8, choices=GUARDED, help=f"default: {INT8}")
    g.add_argument("--limit", type=int, help="only the first N samples of each set (written apart; never 'passed')")
    g.add_argument("--dataset", action="append", choices=DATASETS, help="default: both")
    g.add_argument("--max-clicks", type=int, default=MAX_CLICKS)
    g.add_argument("--threads", type=int, help="inference threads")
    g.add_argument("--quiet", action="store_true", help="no progress bars")
    g.set_defaults(func=_guard)
    d = sub.add_parser("device", help="the GPU torch sees here (exit 1 without one), else why not")
    d.set_defaults(func=_device)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (WeightsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
