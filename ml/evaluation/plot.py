"""mIoU-versus-clicks charts of one or several evaluation summaries."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def curve_label(summary: dict[str, Any]) -> str:
    """``model on dataset (NoC@90 x.xx)``."""
    return f"{summary['model']} on {summary['dataset']} (NoC@90 {summary['noc90']:.2f})"


def plot_miou(summaries: Sequence[dict[str, Any]], out: str | Path, title: str | None = None) -> None:
    """Draw mIoU after each click for every summary on one chart and save it as a PNG."""
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=120)
    for summary in summaries:
        miou = summary["miou_per_click"]
        axes.plot(range(1, len(miou) + 1), miou, marker="o", markersize=3, label=curve_label(summary))
    axes.axhline(0.9, color="grey", linestyle=":", linewidth=1)
    axes.axhline(0.85, color="grey", linestyle=":", linewidth=1)
    axes.set_xlabel("number of clicks")
    axes.set_ylabel("mIoU")
    axes.set_xticks(range(1, max(len(s["miou_per_click"]) for s in summaries) + 1))
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8, loc="lower right")
    axes.set_title(title or "mIoU vs. clicks")
    figure.tight_layout()
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out)
    plt.close(figure)
