"""Which engine runs a network fastest here: round-robin timing of every candidate on the same input.

    python bench/engine_survey.py --model hrnet18-ocr64-cocolvis --size 400x400 --threads 2 [--runs 15] [--out DIR]

Candidates: eager PyTorch (the reference), PyTorch with BatchNorm folded and channels-last weights, a frozen
TorchScript trace of that, ONNX Runtime (when ``onnxruntime`` is installed; exported with ``torch.onnx``), OpenVINO
f32 with dynamic H/W (the ``openvino`` engine) and with the shape fixed to the input, and OpenVINO bf16. Each
round runs every candidate once, so a change of machine load hits them all alike. Each candidate's largest
output difference from eager PyTorch is reported against the parity tolerance. Writes
``forward_engines_<model>_<size>.json`` and ``.md`` into ``--out`` (default ``docs/results``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from forward import bench_inputs, parse_size, weights_file  # noqa: E402

from ml.inference.engines import create_engine, engine_name  # noqa: E402
from ml.inference.engines.openvino import _config, _TupleOutputs, load_or_convert  # noqa: E402
from ml.model.build import arch_spec  # noqa: E402
from ml.model.fuse import optimize_for_inference  # noqa: E402
from ml.model.loaded import LoadedModel  # noqa: E402
from ml.weights import load_model  # noqa: E402
from ml.weights.verify import tolerance_for  # noqa: E402

Runner = Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]


def torch_runner(network: torch.nn.Module, outputs: tuple[str, ...]) -> Runner:
    def run(image: np.ndarray, features: np.ndarray) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            result = network(torch.from_numpy(image), torch.from_numpy(features))
        if isinstance(result, dict):
            return {name: result[name].numpy() for name in outputs}
        return {name: value.numpy() for name, value in zip(outputs, result, strict=True)}

    return run


def torchscript_frozen(loaded: LoadedModel, inputs: tuple[np.ndarray, np.ndarray]) -> Runner:
    outputs = arch_spec(loaded.arch).outputs
    wrapper = _TupleOutputs(optimize_for_inference(loaded.network), outputs).eval()
    example = tuple(torch.from_numpy(array) for array in inputs)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(wrapper, example, check_trace=False)
        frozen = torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))
    return torch_runner(frozen, outputs)


def onnxruntime_runner(loaded: LoadedModel, inputs: tuple[np.ndarray, np.ndarray], threads: int) -> Runner:
    import onnxruntime

    outputs = arch_spec(loaded.arch).outputs
    wrapper = _TupleOutputs(loaded.network.eval(), outputs).eval()
    example = tuple(torch.from_numpy(array) for array in inputs)
    path = Path(tempfile.mkdtemp(prefix="survey-onnx-")) / "model.onnx"
    axes = {0: "n", 2: "h", 3: "w"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper, example, str(path), input_names=["image", "coord_features"], output_names=list(outputs),
            dynamic_axes={"image": axes, "coord_features": axes}, opset_version=17, dynamo=False,
        )  # fmt: skip
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(image: np.ndarray, features: np.ndarray) -> dict[str, np.ndarray]:
        result = session.run(None, {"image": image, "coord_features": features})
        return dict(zip(outputs, result, strict=True))

    return run


def openvino_static(loaded: LoadedModel, inputs: tuple[np.ndarray, np.ndarray], threads: int, precision: str) -> Runner:
    import openvino

    model, _ = load_or_convert(loaded)
    model.reshape({model.inputs[0]: list(inputs[0].shape), model.inputs[1]: list(inputs[1].shape)})
    compiled = openvino.Core().compile_model(model, "CPU", _config(threads, None, precision))
    request = compiled.create_infer_request()
    outputs = arch_spec(loaded.arch).outputs

    def run(image: np.ndarray, features: np.ndarray) -> dict[str, np.ndarray]:
        result = request.infer([image, features])
        return {name: np.array(result[index]) for index, name in enumerate(outputs)}

    return run


def candidates(loaded: LoadedModel, inputs: tuple[np.ndarray, np.ndarray], threads: int) -> dict[str, Runner]:
    outputs = arch_spec(loaded.arch).outputs
    builders: dict[str, Callable[[], Runner]] = {
        "torch (eager, reference)": lambda: torch_runner(loaded.network.eval(), outputs),
        "torch-fused (BN folded, channels-last)": lambda: create_engine(loaded, "torch-fused", threads),
        "torchscript trace+freeze (fused)": lambda: torchscript_frozen(loaded, inputs),
        "onnxruntime f32 (dynamic H/W)": lambda: onnxruntime_runner(loaded, inputs, threads),
        "openvino f32 (dynamic H/W) = engine openvino": lambda: _engine(loaded, "openvino", threads),
        "openvino f32 (static shape)": lambda: openvino_static(loaded, inputs, threads, "f32"),
        "openvino bf16 (dynamic H/W) = engine openvino-bf16": lambda: _engine(loaded, "openvino-bf16", threads),
    }
    built: dict[str, Runner] = {}
    for name, build in builders.items():
        try:
            built[name] = build()
        except Exception as exc:  # a candidate that cannot be built here is reported, not fatal
            print(f"  {name}: not available ({type(exc).__name__}: {str(exc)[:200]})")
    return built


def _engine(loaded: LoadedModel, name: str, threads: int) -> Runner:
    engine = create_engine(loaded, name, threads)
    if engine_name(engine) != name:
        raise RuntimeError(f"{name} fell back to {engine_name(engine)}")
    return engine


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--weights", type=Path)
    parser.add_argument("--size", type=parse_size, default=(400, 400))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "results")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    loaded = load_model(args.model, weights_file(args.model, args.weights))
    inputs = bench_inputs(loaded, args.size)
    runners = candidates(loaded, inputs, args.threads)
    reference = runners["torch (eager, reference)"](*inputs)
    for run in runners.values():
        for _ in range(args.warmup):
            run(*inputs)
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(args.runs):
        for name, run in runners.items():
            start = time.perf_counter()
            run(*inputs)
            times[name].append(time.perf_counter() - start)
    load_after = os.getloadavg()
    rows = []
    for name, run in runners.items():
        outputs = run(*inputs)
        worst = max(float(np.abs(outputs[k] - v).max()) / tolerance_for(v) for k, v in reference.items())
        rows.append(
            {
                "candidate": name,
                "median_s": float(np.median(times[name])),
                "p90_s": float(np.percentile(times[name], 90)),
                "max_diff_over_tolerance": worst,
            }
        )
    size = f"{args.size[0]}x{args.size[1]}"
    report = {
        "model": args.model,
        "size": size,
        "threads": args.threads,
        "runs": args.runs,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "torch_version": torch.__version__,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"forward_engines_{args.model}_{size}"
    stem.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"# Forward time by engine: {args.model}, {size}, {args.threads} threads",
        "",
        f"Round-robin, {args.runs} rounds after {args.warmup} warm-ups; load average (1/5/15 min) "
        f"{' '.join(f'{v:.2f}' for v in load_before)} before, {' '.join(f'{v:.2f}' for v in load_after)} after.",
        "`diff/tol`: largest output difference from eager PyTorch over the parity tolerance (≤ 1 is within parity).",
        "",
        "| candidate | median s | p90 s | diff/tol |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r['candidate']} | {r['median_s']:.4f} | {r['p90_s']:.4f} | {r['max_diff_over_tolerance']:.3f} |"
        for r in rows
    ]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
