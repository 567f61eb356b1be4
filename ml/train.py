"""Train EdgeFlow (or fine-tune a registered model) from a JSON config.

    python -m ml.train --config ml/configs/edgeflow_ours.json [--resume] [--register] [--threads N]
        [--budget-minutes M] [--output-dir DIR]

Writes ``config.json``, ``init.txt``, ``log.csv``, ``loss_curve.png``, ``last.pt`` (resumable state),
``best.pt`` and the exported ``<name>.pt`` into the config's ``output_dir``; ``--register`` copies the
export into the model registry so ``--model <name>`` works everywhere.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence

import ml  # noqa: F401  (sets OMP_WAIT_POLICY before torch loads)
from ml.training.config import TrainConfig
from ml.training.trainer import Trainer, register


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="training config (JSON), e.g. ml/configs/edgeflow_ours.json")
    parser.add_argument("--resume", action="store_true", help="continue from <output_dir>/last.pt")
    parser.add_argument("--register", action="store_true", help="register the best network under the config's name")
    parser.add_argument("--threads", type=int, help="torch threads (overrides the config)")
    parser.add_argument("--budget-minutes", type=float, help="wall-clock budget (overrides the config)")
    parser.add_argument("--output-dir", help="output folder (overrides the config)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = TrainConfig.load(args.config)
    except (OSError, ValueError) as exc:
        parser.error(str(exc))
    overrides = {
        "threads": args.threads,
        "time_budget_minutes": args.budget_minutes,
        "output_dir": args.output_dir,
    }
    config = dataclasses.replace(config, **{k: v for k, v in overrides.items() if v is not None})
    trainer = Trainer(config, resume=args.resume, progress_bar=not args.quiet)
    print(
        f"training {config.name}: {trainer.train_objects} objects, {trainer.val_objects} held out "
        f"({len(trainer.val_samples)} validated), {config.total_iterations} iterations, output {trainer.out}"
    )
    progress = trainer.run()
    exported = trainer.out / f"{config.name}.pt"
    print(
        f"done: {progress.iteration} iterations, {progress.samples} samples, {progress.elapsed_s / 60:.1f} min; "
        f"best held-out {progress.best}; exported {exported}"
    )
    if args.register:
        print(f"registered {register(exported)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
