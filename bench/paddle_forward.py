"""Time Paddle Inference (oneDNN, IR optimisation) on a static ``.pdmodel``/``.pdiparams`` pair — EISeg's engine.

Runs in the optional benchmark environment (``make bench-env`` → ``.venv-bench/bin/python``), never in the app:

    .venv-bench/bin/python bench/paddle_forward.py MODEL.pdmodel INPUTS.npz --threads 2 --runs 10 [--no-mkldnn]

``INPUTS.npz`` holds ``image`` and ``coord_features`` (N×3×H×W float32, fed in that order). Prints one JSON line:
``{"median_s", "p90_s", "times_s", "paddle_version", "mkldnn", "outputs": {name: [shape...]}}``; with ``--save OUT``
also writes the first output of the last forward to ``OUT`` (npz) for a numerical check.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("FLAGS_enable_pir_api", "0")  # legacy static programs (.pdmodel) in Paddle 3
os.environ.setdefault("GLOG_minloglevel", "3")

import numpy as np  # noqa: E402


def predictor(model: Path, threads: int, mkldnn: bool):  # noqa: ANN201 (paddle types only exist in .venv-bench)
    from paddle import inference

    config = inference.Config(str(model), str(model.with_suffix(".pdiparams")))
    config.disable_gpu()
    config.switch_ir_optim(True)
    config.set_cpu_math_library_num_threads(threads)
    if mkldnn:
        config.enable_mkldnn()
    config.disable_glog_info()
    return inference.create_predictor(config)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="the .pdmodel (its .pdiparams beside it)")
    parser.add_argument("inputs", type=Path, help="npz with image and coord_features")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--no-mkldnn", action="store_true", help="plain CPU kernels instead of oneDNN")
    parser.add_argument("--save", type=Path, help="write the outputs of the last forward to this npz")
    args = parser.parse_args()

    import paddle

    with np.load(args.inputs) as data:
        feeds = [np.ascontiguousarray(data["image"]), np.ascontiguousarray(data["coord_features"])]
    engine = predictor(args.model, args.threads, not args.no_mkldnn)
    for name, value in zip(engine.get_input_names(), feeds, strict=True):
        engine.get_input_handle(name).copy_from_cpu(value)

    times = []
    for run in range(args.warmup + args.runs):
        start = time.perf_counter()
        engine.run()
        outputs = [engine.get_output_handle(name).copy_to_cpu() for name in engine.get_output_names()]
        if run >= args.warmup:
            times.append(time.perf_counter() - start)
    if args.save:
        np.savez(args.save, **{f"out{i}": out for i, out in enumerate(outputs)})
    report = {
        "median_s": float(np.median(times)),
        "p90_s": float(np.percentile(times, 90)),
        "times_s": times,
        "paddle_version": paddle.__version__,
        "mkldnn": not args.no_mkldnn,
        "threads": args.threads,
        "outputs": {name: list(out.shape) for name, out in zip(engine.get_output_names(), outputs, strict=True)},
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
