"""Turning per-sample results into the summary dictionary, its JSON file and its printed table."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ml.evaluation import metrics
from ml.evaluation.runner import SampleResult

REQUIRED_TARGETS = (0.85, 0.9)
PRINTED_CLICKS = (1, 3, 5, 10, 20)


def target_label(target: float) -> str:
    """0.85 → "85", 0.875 → "87.5"."""
    return f"{target * 100:g}"


def _timing(results: Sequence[SampleResult]) -> dict[str, float]:
    click_times = [t for r in results for t in r.click_seconds]
    total = sum(r.image_seconds for r in results) + sum(click_times)
    return {
        "spc": total / max(len(click_times), 1),
        "latency_median": float(np.median(click_times)) if click_times else 0.0,
        "latency_p90": float(np.percentile(click_times, 90)) if click_times else 0.0,
        "total_clicks": len(click_times),
    }


def _per_sample(result: SampleResult, max_clicks: int) -> dict[str, Any]:
    return {
        "name": result.name,
        "ious": [round(v, 6) for v in result.ious],
        "clicks": [[c.y, c.x, int(c.positive)] for c in result.clicks],
        "noc85": metrics.clicks_to_reach(result.ious, 0.85, max_clicks),
        "noc90": metrics.clicks_to_reach(result.ious, 0.9, max_clicks),
        "drops": metrics.drops(result.ious),
        "click_seconds": [round(t, 4) for t in result.click_seconds],
    }


def summarize(
    results: Sequence[SampleResult],
    *,
    model: str,
    dataset: str,
    max_clicks: int,
    targets: Sequence[float] = REQUIRED_TARGETS,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The evaluation summary: NoC, failures and RITM's ≥max counts per target, mIoU per click, speed."""
    if not results:
        raise ValueError("no samples were evaluated")
    all_ious = [r.ious for r in results]
    targets = sorted(set(REQUIRED_TARGETS) | set(targets))
    noc = {target_label(t): metrics.noc(all_ious, t, max_clicks) for t in targets}
    fail = {target_label(t): metrics.failures(all_ious, t, max_clicks) for t in targets}
    return {
        "model": model,
        "dataset": dataset,
        "num_samples": len(results),
        "max_clicks": max_clicks,
        "noc85": noc["85"],
        "noc90": noc["90"],
        "fail90": fail["90"],
        "noc": noc,
        "fail": fail,
        "at_max": {target_label(t): metrics.at_max(all_ious, t, max_clicks) for t in targets},
        "miou_per_click": metrics.miou_per_click(all_ious, max_clicks),
        "drops": metrics.mean_drops(all_ious),
        **_timing(results),
        "settings": settings or {},
        "samples": [_per_sample(r, max_clicks) for r in results],
    }


def format_summary(summary: dict[str, Any]) -> str:
    """A short human-readable table of a summary."""
    miou = summary["miou_per_click"]
    shown = [k for k in PRINTED_CLICKS if k <= len(miou)]
    settings = ", ".join(f"{key}={value}" for key, value in summary.get("settings", {}).items() if value is not None)
    lines = [
        f"{summary['model']} on {summary['dataset']}: {summary['num_samples']} samples, "
        f"max {summary['max_clicks']} clicks ({settings})",
        "  ".join(f"NoC@{label} {value:.2f}" for label, value in summary["noc"].items())
        + f"  fail@90 {summary['fail90']}  (RITM ≥{summary['max_clicks']}@90: {summary['at_max']['90']})",
        "mIoU after " + "  ".join(f"{k}: {miou[k - 1]:.4f}" for k in shown),
        f"s/click {summary['spc']:.3f} (median latency {summary['latency_median']:.3f} s, "
        f"p90 {summary['latency_p90']:.3f} s, {summary['total_clicks']} clicks)  drops {summary['drops']:.3f}",
    ]
    return "\n".join(lines)


def write_json(summary: dict[str, Any], path: str | Path) -> None:
    """Write a summary as indented JSON, creating the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=1) + "\n")


def read_json(path: str | Path) -> dict[str, Any]:
    """Read a summary written by :func:`write_json`."""
    return json.loads(Path(path).read_text())
