"""``python -m ml.weights {fetch,convert,verify,list}``: manage model weights."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from ml.model.build import ARCHITECTURES
from ml.weights.bundled import install_bundled
from ml.weights.convert import convert
from ml.weights.errors import WeightsError
from ml.weights.fetch import MODEL_NAME, fetch
from ml.weights.loader import load_model
from ml.weights.registry import registered_models
from ml.weights.verify import DEFAULT_ATOL, run_fixture

EXIT_OK, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2


def _fetch(args: argparse.Namespace) -> int:
    path, worked = fetch(force=args.force)
    print(f"{'registered' if worked else 'already registered'} {MODEL_NAME}: {path}")
    for name, copied in install_bundled():
        print(f"{'registered' if copied else 'already registered'} {name} (committed in models/)")
    return EXIT_OK


def _convert(args: argparse.Namespace) -> int:
    path = convert(args.path, arch=args.arch, out=args.out, name=args.name)
    print(f"wrote {path}")
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    torch.set_num_threads(args.threads)
    model = load_model(args.model, args.weights)
    diffs = run_fixture(model, args.fixture, atol=args.atol)
    for diff in diffs:
        verdict = "ok" if diff.ok else "FAIL"
        print(
            f"{diff.output:<16} ({diff.key:<14}) max abs diff {diff.max_abs_diff:.3e}  tol {diff.tolerance:.3e}  {verdict}"
        )
    failed = [d.output for d in diffs if not d.ok]
    print(f"FAILED: {', '.join(failed)}" if failed else f"PASS: {args.fixture}")
    return EXIT_MISMATCH if failed else EXIT_OK


def _list(_args: argparse.Namespace) -> int:
    models = registered_models()
    if not models:
        print("no registered models (run `python -m ml.weights fetch`)")
    for name, meta in models:
        source = meta.source.get("path", "?")
        print(f"{name:<28} arch={meta.arch:<14} prev={meta.prev_channel:<5} source={source}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml.weights", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser(
        "fetch",
        help=f"download paddlelabel-ml, convert and register {MODEL_NAME}; register the models committed in models/",
    )
    p.add_argument("--force", action="store_true", help="convert again even if already registered")
    p.set_defaults(func=_fetch)
    p = sub.add_parser("convert", help="convert .pdparams / .pdmodel(+.pdiparams) / .pt into a checkpoint")
    p.add_argument("path", type=Path)
    p.add_argument("--arch", choices=sorted(ARCHITECTURES), help="architecture (detected if omitted)")
    target = p.add_mutually_exclusive_group()
    target.add_argument("--out", type=Path, help="write the checkpoint to this file")
    target.add_argument("--name", help="register under this name (default: derived from the file name)")
    p.set_defaults(func=_convert)
    p = sub.add_parser("verify", help="compare a model's outputs with a reference .npz fixture")
    p.add_argument("fixture", type=Path)
    p.add_argument("--model", required=True, help="registered model name or architecture")
    p.add_argument("--weights", type=Path, help="weight file (required when --model is an architecture)")
    p.add_argument("--atol", type=float, default=DEFAULT_ATOL, help="absolute tolerance, scaled by |logits| > 1")
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(func=_verify)
    p = sub.add_parser("list", help="show registered models")
    p.set_defaults(func=_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (WeightsError, FileNotFoundError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
