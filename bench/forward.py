"""Forward-pass speed of one network on one engine, side by side with EISeg's engine (Paddle Inference + oneDNN).

    python bench/forward.py --model NAME --size 400x400 --threads 2 [--engine E] [--json OUT]

``NAME`` is a registered model (``hrnet18-ocr64-cocolvis``) or an architecture with ``--weights`` (``edgeflow``
defaults to the random test weights in ``<shared>/fixtures``). The input is the astronaut photo (scikit-image)
resized to the size, one positive click at its centre and an empty previous mask/edge. After ``--warmup``
forwards, ``--runs`` (≥ 10) forwards give the median and p90.

Where the optional benchmark environment exists (``make bench-env`` → ``.venv-bench``, with paddlepaddle; never a
runtime dependency), the same input goes through Paddle Inference with oneDNN on the original static files of the
same weights (``bench/paddle_forward.py`` in that environment), and the ratio of the two medians is printed
together with the largest output difference (against the parity tolerance). ``--json`` writes ``median_s``,
``p90_s``, ``engine`` and, when measured, ``paddle_median_s``, ``paddle_p90_s`` and ``ratio``, plus details.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from skimage import data as skdata

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ml.inference.clicks import Click, coord_features  # noqa: E402
from ml.inference.engines import ENGINES, create_engine, engine_name  # noqa: E402
from ml.inference.engines.base import Engine  # noqa: E402
from ml.model.build import arch_spec  # noqa: E402
from ml.model.loaded import LoadedModel  # noqa: E402
from ml.paths import shared_dir, var_dir  # noqa: E402
from ml.weights import load_model  # noqa: E402
from ml.weights.checkpoint import read_checkpoint_meta  # noqa: E402
from ml.weights.registry import checkpoint_path, is_registered  # noqa: E402
from ml.weights.verify import tolerance_for  # noqa: E402

PADDLE_PYTHON = REPO / ".venv-bench" / "bin" / "python"
PADDLE_SCRIPT = REPO / "bench" / "paddle_forward.py"
TEST_WEIGHTS = {"edgeflow": "fixtures/edgeflow_random.pdparams"}
ENGINE_ALIASES = {"int8": "openvino-int8", "bf16": "openvino-bf16", "f32": "openvino"}


def parse_size(text: str) -> tuple[int, int]:
    """``"400x300"`` → (height 400, width 300)."""
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must be HxW, e.g. 400x400, not {text!r}") from None
    if height < 32 or width < 32:
        raise argparse.ArgumentTypeError("size must be at least 32x32")
    return height, width


def weights_file(model: str, weights: Path | None) -> Path | None:
    """The explicit weights, or the test weights of an unregistered architecture (``edgeflow``)."""
    if weights is not None or is_registered(model):
        return weights
    if model in TEST_WEIGHTS:
        return shared_dir() / TEST_WEIGHTS[model]
    return None


def paddle_static_files(model: str, weights: Path | None) -> Path | None:
    """The ``.pdmodel`` the weights came from: beside a Paddle weight file, or the fetch cache of a registered one."""
    if weights is not None:
        candidate = weights.with_suffix(".pdmodel")
        return candidate if candidate.is_file() and weights.suffix in {".pdparams", ".pdmodel", ".pdiparams"} else None
    source = read_checkpoint_meta(checkpoint_path(model)).source
    if source.get("format") != "paddle-static":
        return None
    candidate = var_dir() / "cache" / "paddle" / Path(source["path"].rsplit("!", 1)[-1]).name
    return candidate if candidate.is_file() else None


def bench_inputs(loaded: LoadedModel, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Astronaut photo at ``size``, normalised N×3×H×W; coord features with one positive click at the centre."""
    height, width = size
    rgb = cv2.resize(skdata.astronaut(), (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32) / 255
    image = ((rgb - np.float32(loaded.mean)) / np.float32(loaded.std)).transpose(2, 0, 1)
    features = coord_features(np.zeros(size, np.float32), [Click(x=width // 2, y=height // 2, positive=True)])
    return np.ascontiguousarray(image[None], dtype=np.float32), np.ascontiguousarray(features[None], dtype=np.float32)


def time_forwards(
    engine: Engine, inputs: tuple[np.ndarray, np.ndarray], warmup: int, runs: int
) -> tuple[list[float], dict[str, np.ndarray]]:
    outputs: dict[str, np.ndarray] = {}
    for _ in range(warmup):
        engine(*inputs)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        outputs = engine(*inputs)
        times.append(time.perf_counter() - start)
    return times, outputs


def run_paddle(
    pdmodel: Path, inputs: tuple[np.ndarray, np.ndarray], threads: int, warmup: int, runs: int
) -> tuple[dict, dict[str, np.ndarray]]:
    """Time Paddle Inference (oneDNN) in the bench environment; returns its report and its outputs."""
    with tempfile.TemporaryDirectory(prefix="bench-forward-") as tmp:
        feeds, saved = Path(tmp) / "inputs.npz", Path(tmp) / "paddle_outputs.npz"
        np.savez(feeds, image=inputs[0], coord_features=inputs[1])
        command = [str(PADDLE_PYTHON), str(PADDLE_SCRIPT), str(pdmodel), str(feeds)]
        command += ["--threads", str(threads), "--warmup", str(warmup), "--runs", str(runs), "--save", str(saved)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=1800, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"paddle run failed ({result.returncode}): {result.stderr.strip()[-800:]}")
        report = json.loads(result.stdout.strip().splitlines()[-1])
        with np.load(saved) as archive:
            outputs = {key: archive[key] for key in archive.files}
    return report, outputs


def output_differences(
    loaded: LoadedModel, ours: dict[str, np.ndarray], paddle: dict[str, np.ndarray]
) -> dict[str, dict[str, float]]:
    """Per output: max |ours − paddle| and the parity tolerance (Paddle's outputs come in the architecture's order)."""
    differences = {}
    for index, name in enumerate(arch_spec(loaded.arch).outputs):
        reference = paddle[f"out{index}"].reshape(ours[name].shape)
        differences[name] = {
            "max_abs_diff": float(np.abs(ours[name] - reference).max()),
            "tolerance": tolerance_for(reference),
        }
    return differences


def summary(times: list[float]) -> tuple[float, float]:
    return float(np.median(times)), float(np.percentile(times, 90))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="registered model name, or an architecture (edgeflow)")
    parser.add_argument("--weights", type=Path, help="weight file (default: registered, or edgeflow test weights)")
    parser.add_argument("--size", type=parse_size, default=(400, 400), help="HxW network input (default 400x400)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--engine",
        choices=sorted(ENGINES) + sorted(ENGINE_ALIASES),
        help="default: the engine the app would choose for this model here (fastest natively-run engine whose "
        "guard passed); int8/bf16/f32 name the openvino-* engines",
    )
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--runs", type=int, default=10, help="timed forwards (at least 10)")
    parser.add_argument("--no-paddle", action="store_true", help="skip the Paddle Inference comparison")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if args.runs < 10:
        parser.error("--runs must be at least 10")
    args.engine = ENGINE_ALIASES.get(args.engine, args.engine)

    torch.set_num_threads(args.threads)
    weights = weights_file(args.model, args.weights)
    loaded = load_model(args.model, weights)
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    engine = create_engine(loaded, args.engine, threads=args.threads)
    setup_s = time.perf_counter() - start
    inputs = bench_inputs(loaded, args.size)
    times, outputs = time_forwards(engine, inputs, args.warmup, args.runs)
    median, p90 = summary(times)
    size_text = f"{args.size[0]}x{args.size[1]}"
    report: dict = {
        "model": args.model,
        "weights": str(weights) if weights else "registered",
        "size": size_text,
        "threads": args.threads,
        "engine": engine_name(engine),
        "engine_setup_s": setup_s,
        "median_s": median,
        "p90_s": p90,
        "times_s": times,
        "torch_version": torch.__version__,
        "machine": f"{platform.machine()} {os.cpu_count()} cpus",
    }
    print(f"{args.model} {size_text} threads={args.threads} engine={report['engine']} (setup {setup_s:.2f} s)")
    print(f"  ours:   median {median:.4f} s  p90 {p90:.4f} s  ({args.runs} forwards after {args.warmup} warm-up)")

    pdmodel = None if args.no_paddle else paddle_static_files(args.model, weights)
    if args.no_paddle:
        report["paddle"] = "skipped (--no-paddle)"
    elif pdmodel is None:
        report["paddle"] = "not measured: no static .pdmodel/.pdiparams for these weights"
    elif not PADDLE_PYTHON.is_file():
        report["paddle"] = "not measured: no .venv-bench (run `make bench-env`)"
    else:
        paddle, paddle_outputs = run_paddle(pdmodel, inputs, args.threads, args.warmup, args.runs)
        ratio = median / paddle["median_s"]
        report.update(
            paddle_median_s=paddle["median_s"],
            paddle_p90_s=paddle["p90_s"],
            paddle_times_s=paddle["times_s"],
            paddle_version=paddle["paddle_version"],
            paddle_engine="Paddle Inference, oneDNN, IR optimisation",
            paddle_model=str(pdmodel),
            ratio=ratio,
            outputs_vs_paddle=output_differences(loaded, outputs, paddle_outputs),
        )
        print(
            f"  paddle: median {paddle['median_s']:.4f} s  p90 {paddle['p90_s']:.4f} s  (Paddle {paddle['paddle_version']} oneDNN)"
        )
        print(f"  ratio ours/paddle-oneDNN: {ratio:.3f}")
        for name, diff in report["outputs_vs_paddle"].items():
            verdict = "ok" if diff["max_abs_diff"] <= diff["tolerance"] else "OUT OF TOLERANCE"
            print(
                f"  {name:<15} max |ours - paddle| {diff['max_abs_diff']:.2e}  tol {diff['tolerance']:.2e}  {verdict}"
            )
    if isinstance(report.get("paddle"), str):
        print(f"  paddle: {report['paddle']}")
    report["load_average_before"] = load_before
    report["load_average_after"] = os.getloadavg()[0]
    print(f"  load average (1 min): {load_before:.2f} before, {report['load_average_after']:.2f} after")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
