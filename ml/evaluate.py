"""NoC evaluation from the command line.

    python -m ml.evaluate --model NAME [--weights PATH] --dataset PATH [--images DIR] [--max-clicks 20]
        [--iou 0.85 0.9] [--zoom-in/--no-zoom-in] [--flip] [--engine E] [--limit N] [--json OUT] [--plot OUT.png]
    python -m ml.evaluate plot RESULT.json [RESULT.json ...] --out FILE.png [--title TEXT]

``--model grabcut`` is the OpenCV GrabCut baseline; any other name is loaded with ``ml.weights.load_model``.

A sample is one object. In a ``--dataset`` folder (``images/`` + ``masks/`` by stem) a greyscale, trimap or
colour mask file is one object; a palette PNG (DAVIS, Pascal VOC) is one sample per palette index 1..254
present, named ``IMAGE#INDEX`` (VOC ``SegmentationClass``: one per class), its index 255 void ignored like
GrabCut's 128 band. A COCO JSON gives one sample per non-crowd instance.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ml.evaluation.datasets import open_dataset
from ml.evaluation.models import open_session
from ml.evaluation.plot import plot_miou
from ml.evaluation.report import format_summary, read_json, summarize, write_json
from ml.evaluation.runner import PRED_THRESHOLD, evaluate_dataset


def evaluation_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml.evaluate", description="RITM NoC evaluation.")
    parser.add_argument("--model", required=True, help="registered model name, or 'grabcut'")
    parser.add_argument("--weights", help="weight file for the model's architecture")
    parser.add_argument(
        "--dataset",
        required=True,
        help="folder with images/ + masks/ (one sample per mask file; a palette PNG as DAVIS/VOC ship them: one "
        "sample per object index 1..254 named IMAGE#INDEX, index 255 void and ignored), or a COCO JSON (one "
        "sample per non-crowd instance)",
    )
    parser.add_argument("--images", help="image folder of a COCO JSON")
    parser.add_argument("--min-area", type=float, default=1.0, help="COCO: skip smaller instances (pixels)")
    parser.add_argument("--max-clicks", type=int, default=20)
    parser.add_argument("--iou", type=float, nargs="+", default=[0.85, 0.9], help="NoC targets")
    parser.add_argument("--zoom-in", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--flip", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument(
        "--stop-iou",
        type=float,
        help="stop a sample once its IoU reaches this (faster, RITM's default 0.9; later mIoU carries it forward)",
    )
    parser.add_argument("--limit", type=int, help="evaluate only the first N samples")
    parser.add_argument("--threads", type=int, help="inference threads")
    parser.add_argument(
        "--engine",
        default="torch",
        help="inference engine of a deep model: torch (the reference, default), torch-fused, openvino (f32), "
        "openvino-bf16 or openvino-int8 (reduced precision: the app uses them only where their NoC guard passed)",
    )
    parser.add_argument("--json", help="write the summary here")
    parser.add_argument("--plot", help="write the mIoU-vs-clicks chart here (PNG)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def plot_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ml.evaluate plot", description="Compare mIoU curves.")
    parser.add_argument("results", nargs="+", help="summary JSON files written with --json")
    parser.add_argument("--out", required=True, help="PNG to write")
    parser.add_argument("--title")
    return parser


def run_evaluation(args: argparse.Namespace) -> dict:
    dataset = open_dataset(args.dataset, args.images, args.min_area)
    session = open_session(
        args.model, args.weights, zoom_in=args.zoom_in, flip=args.flip, threads=args.threads, engine=args.engine
    )
    results = evaluate_dataset(session, dataset, args.max_clicks, args.stop_iou, args.limit, not args.quiet)
    settings = {
        "weights": args.weights,
        "dataset_path": str(args.dataset),
        "zoom_in": args.zoom_in,
        "flip": args.flip,
        "engine": getattr(getattr(session, "engine", None), "engine_name", args.engine),
        "pred_threshold": PRED_THRESHOLD,
        "stop_iou": args.stop_iou,
        "limit": args.limit,
    }
    return summarize(
        results,
        model=args.model,
        dataset=dataset.name,
        max_clicks=args.max_clicks,
        targets=args.iou,
        settings=settings,
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["plot"]:
        args = plot_parser().parse_args(argv[1:])
        plot_miou([read_json(path) for path in args.results], args.out, args.title)
        print(f"wrote {args.out}")
        return 0
    parser = evaluation_parser()
    args = parser.parse_args(argv)
    if args.max_clicks < 1:
        parser.error("--max-clicks must be at least 1")
    try:
        summary = run_evaluation(args)
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    print(format_summary(summary))
    if args.json:
        write_json(summary, args.json)
    if args.plot:
        plot_miou([summary], args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
