"""The CSV training log and its PNG loss curve."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

LOG_FIELDS = (
    "iteration",
    "phase",
    "samples",
    "elapsed_s",
    "lr",
    "loss",
    "loss_mask",
    "loss_edge",
    "loss_aux",
    "val_noc85",
    "val_noc90",
    "val_miou",
)


def read_log(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def write_log(path: Path, rows: Sequence[dict[str, object]]) -> None:
    """Rewrite the whole log (used when resuming, to drop rows after the resumed iteration)."""
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, LOG_FIELDS)
        writer.writeheader()
        writer.writerows(rows)


def append_log(path: Path, row: dict[str, object]) -> None:
    new = not path.is_file()
    with open(path, "a", newline="") as handle:
        writer = csv.DictWriter(handle, LOG_FIELDS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    if len(values) < window:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def _floats(rows: Sequence[dict[str, str]], key: str) -> np.ndarray:
    return np.array([float(r[key]) if r.get(key) not in (None, "") else np.nan for r in rows])


def plot_loss_curve(rows: Sequence[dict[str, str]], out: Path, title: str = "") -> None:
    """Loss per iteration (raw and smoothed, with its parts) and held-out NoC@90 on a second axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [r for r in rows if r.get("loss") not in (None, "")]
    fig, ax = plt.subplots(figsize=(9, 5))
    if train:
        its = _floats(train, "iteration")
        window = max(1, min(25, len(train) // 5))
        for key, colour in (
            ("loss", "black"),
            ("loss_mask", "tab:blue"),
            ("loss_edge", "tab:orange"),
            ("loss_aux", "tab:green"),
        ):
            values = _floats(train, key)
            if key == "loss":
                ax.plot(its, values, color=colour, alpha=0.2, linewidth=0.8)
            smooth = _moving_average(values, window)
            ax.plot(its[len(its) - len(smooth) :], smooth, color=colour, label=f"{key} (mean of {window})")
        phases = [r["phase"] for r in train]
        for i in range(1, len(phases)):
            if phases[i] != phases[i - 1]:
                ax.axvline(its[i], color="grey", linestyle="--", linewidth=0.8)
                ax.text(its[i], ax.get_ylim()[1] * 0.95, f" {phases[i]}", color="grey")
    ax.set_xlabel("iteration")
    ax.set_ylabel("training loss")
    ax.legend(loc="upper left")
    val = [r for r in rows if r.get("val_noc90") not in (None, "")]
    if val:
        ax2 = ax.twinx()
        ax2.plot(_floats(val, "iteration"), _floats(val, "val_noc90"), "o-", color="tab:red", label="held-out NoC@90")
        ax2.set_ylabel("held-out NoC@90 (lower is better)", color="tab:red")
        ax2.legend(loc="upper right")
    ax.set_title(title or "training loss")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
