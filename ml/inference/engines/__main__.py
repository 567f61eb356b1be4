"""``python -m ml.inference.engines prepare``: build (convert and cache) the inference engine of registered models.

Workers load their model when they start; running this once after ``python -m ml.weights fetch`` moves the slow
first conversion (tens of seconds for OpenVINO) out of the first click.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence

from ml.inference.engines import ENGINES, create_engine, default_engine, engine_name
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
        engine = create_engine(load_model(name), wanted)
        failed |= engine_name(engine) != wanted
        print(f"{name}: engine {engine_name(engine)} ready in {time.perf_counter() - start:.1f} s")
    return 1 if failed and args.strict else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml.inference.engines", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="convert and cache the engine of registered models")
    p.add_argument("--model", action="append", help="registered model (repeatable; default: all registered)")
    p.add_argument("--engine", choices=sorted(ENGINES), help=f"default: {default_engine()}")
    p.add_argument("--strict", action="store_true", help="exit 1 when an engine fell back to torch")
    p.set_defaults(func=_prepare)
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
