"""NoC arithmetic: IoU, number of clicks to a target, failures, mIoU per click and instability."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DROP_THRESHOLD = 0.05


def iou(pred: np.ndarray, mask: np.ndarray, ignore: np.ndarray | None = None) -> float:
    """Intersection over union of two boolean maps over the non-ignored pixels (1.0 if both are empty)."""
    valid = np.ones_like(mask, dtype=bool) if ignore is None else ~ignore
    union = int(np.count_nonzero((pred | mask) & valid))
    if union == 0:
        return 1.0
    return int(np.count_nonzero(pred & mask & valid)) / union


def clicks_to_reach(ious: Sequence[float], target: float, max_clicks: int) -> int:
    """1-based index of the first click whose IoU reaches ``target``; ``max_clicks`` if none does."""
    for index, value in enumerate(ious[:max_clicks], start=1):
        if value >= target:
            return index
    return max_clicks


def reaches(ious: Sequence[float], target: float, max_clicks: int) -> bool:
    """Whether the IoU reaches ``target`` within ``max_clicks`` clicks."""
    return any(value >= target for value in ious[:max_clicks])


def noc(all_ious: Sequence[Sequence[float]], target: float, max_clicks: int) -> float:
    """Mean number of clicks to reach ``target``, a sample that never does counting as ``max_clicks``."""
    return float(np.mean([clicks_to_reach(ious, target, max_clicks) for ious in all_ious]))


def failures(all_ious: Sequence[Sequence[float]], target: float, max_clicks: int) -> int:
    """Samples that never reach ``target`` within ``max_clicks`` clicks."""
    return sum(not reaches(ious, target, max_clicks) for ious in all_ious)


def at_max(all_ious: Sequence[Sequence[float]], target: float, max_clicks: int) -> int:
    """RITM's "≥max@t" count: samples whose NoC equals ``max_clicks`` (misses plus those reaching exactly then)."""
    return sum(clicks_to_reach(ious, target, max_clicks) == max_clicks for ious in all_ious)


def padded(ious: Sequence[float], length: int) -> list[float]:
    """The IoU after each of ``length`` clicks, the last value carried forward once a sample stopped."""
    if not ious:
        raise ValueError("a sample needs at least one click")
    values = list(ious[:length])
    return values + [values[-1]] * (length - len(values))


def miou_per_click(all_ious: Sequence[Sequence[float]], max_clicks: int) -> list[float]:
    """Mean IoU over samples after click 1..max_clicks."""
    return np.mean([padded(ious, max_clicks) for ious in all_ious], axis=0).tolist()


def drops(ious: Sequence[float], threshold: float = DROP_THRESHOLD) -> int:
    """Clicks after which the IoU falls by more than ``threshold`` compared to the click before."""
    return sum(after < before - threshold for before, after in zip(ious, ious[1:], strict=False))


def mean_drops(all_ious: Sequence[Sequence[float]], threshold: float = DROP_THRESHOLD) -> float:
    """Mean over samples of :func:`drops`."""
    return float(np.mean([drops(ious, threshold) for ious in all_ious]))
