"""Running the NoC protocol over samples and a dataset."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from ml.evaluation.clicker import Clicker
from ml.evaluation.metrics import iou, noc
from ml.evaluation.sample import Sample
from ml.evaluation.session import Session
from ml.inference.clicks import Click

PRED_THRESHOLD = 0.49


@dataclass
class SampleResult:
    """IoU after every click of one sample, with the clicks and the time spent in the session."""

    name: str
    ious: list[float] = field(default_factory=list)
    clicks: list[Click] = field(default_factory=list)
    image_seconds: float = 0.0
    click_seconds: list[float] = field(default_factory=list)


def evaluate_sample(
    session: Session,
    sample: Sample,
    max_clicks: int = 20,
    stop_iou: float | None = None,
    pred_threshold: float = PRED_THRESHOLD,
) -> SampleResult:
    """Click up to ``max_clicks`` times (or until ``stop_iou`` is reached) as RITM's ``evaluate_sample``.

    A sample also stops when no error pixel is left to click (the prediction is perfect).
    """
    if not sample.mask.any():
        raise ValueError(f"{sample.name}: the ground-truth object is empty")
    result = SampleResult(name=sample.name)
    started = time.perf_counter()
    session.set_image(sample.image)
    result.image_seconds = time.perf_counter() - started
    clicker = Clicker(sample.mask, sample.ignore)
    pred = np.zeros_like(sample.mask)
    for _ in range(max_clicks):
        click = clicker.next_click(pred)
        if click is None:
            break
        started = time.perf_counter()
        probs = session.add_click(click.x, click.y, click.positive)
        result.click_seconds.append(time.perf_counter() - started)
        pred = _threshold(probs, sample.mask.shape, pred_threshold)
        result.ious.append(iou(pred, sample.mask, sample.ignore))
        if stop_iou is not None and result.ious[-1] >= stop_iou:
            break
    result.clicks = clicker.clicks
    return result


def _threshold(probs: np.ndarray, shape: tuple[int, ...], threshold: float) -> np.ndarray:
    probs = np.asarray(probs)
    if probs.shape != shape:
        raise ValueError(f"session returned a {probs.shape} map for a {shape} image")
    return probs > threshold


def iterate_samples(dataset: Sequence[Sample], limit: int | None = None) -> Iterator[Sample]:
    """The first ``limit`` samples (all if ``None``), loaded one at a time."""
    count = len(dataset) if limit is None else min(limit, len(dataset))
    for index in range(count):
        yield dataset[index]


def evaluate_dataset(
    session: Session,
    dataset: Sequence[Sample],
    max_clicks: int = 20,
    stop_iou: float | None = None,
    limit: int | None = None,
    progress: bool = True,
) -> list[SampleResult]:
    """Evaluate every sample (the first ``limit``) with a tqdm progress bar showing the running NoC@90."""
    total = len(dataset) if limit is None else min(limit, len(dataset))
    results: list[SampleResult] = []
    bar = tqdm(iterate_samples(dataset, limit), total=total, disable=not progress, unit="sample", dynamic_ncols=True)
    for sample in bar:
        results.append(evaluate_sample(session, sample, max_clicks, stop_iou))
        bar.set_postfix(noc90=f"{noc([r.ious for r in results], 0.9, max_clicks):.2f}", last=sample.name)
    return results
