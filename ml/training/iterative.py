"""Clicks during training: disk encoding of point tensors and RITM's iterative corrective clicks.

Points are N×P×3 integer tensors of rows ``(x, y, positive)`` (``Click.as_list`` order), ``(-1, -1, -1)`` rows
being padding. Each
iterative step runs the network without gradients (eval mode), feeds back the previous output (the mask
probability for RITM models, σ(edge logits) for EdgeFlow) and adds one click per sample at a random
pixel deeper than half the maximum of the distance transform of the larger error region (FN or FP).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ml.data.points_sampler import PADDING
from ml.evaluation.clicker import padded_distance
from ml.inference.clicks import DISK_RADIUS, Click, click_maps

PRED_THRESHOLD = 0.49
Forward = Callable[[torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]


def coord_features(points: torch.Tensor, prev: torch.Tensor, radius: float = DISK_RADIUS) -> torch.Tensor:
    """N×3×H×W ``[prev, positive disks, negative disks]`` with the inference encoding (radius-5 disks)."""
    height, width = prev.shape[-2:]
    maps = []
    for rows in points.tolist():
        clicks = [Click.from_list(row) for row in rows if row[2] >= 0]
        maps.append(click_maps(clicks, height, width, radius))
    return torch.cat([prev, torch.from_numpy(np.stack(maps))], dim=1)


def next_click(prob: np.ndarray, gt: np.ndarray, valid: np.ndarray, rng: np.random.Generator) -> Click | None:
    """One corrective click, or ``None`` when there is no error left."""
    pred = prob > PRED_THRESHOLD
    false_neg = padded_distance(gt & ~pred & valid)
    false_pos = padded_distance(~gt & pred & valid)
    fn_max, fp_max = float(false_neg.max()), float(false_pos.max())
    if max(fn_max, fp_max) == 0.0:
        return None
    positive = fn_max > fp_max
    depth, deepest = (false_neg, fn_max) if positive else (false_pos, fp_max)
    ys, xs = np.nonzero(depth > deepest / 2.0)
    pick = int(rng.integers(len(ys)))
    return Click(x=int(xs[pick]), y=int(ys[pick]), positive=positive)


def add_corrective_clicks(
    points: torch.Tensor, prob: torch.Tensor, mask: torch.Tensor, rng: np.random.Generator
) -> torch.Tensor:
    """``points`` with one more row per sample (N×(P+1)×3)."""
    gt = (mask[:, 0] > 0.5).numpy()
    valid = (mask[:, 0] >= 0).numpy()
    probs = prob[:, 0].numpy()
    clicks = [next_click(probs[i], gt[i], valid[i], rng) for i in range(len(probs))]
    rows = [PADDING if click is None else click.as_list() for click in clicks]
    return torch.cat([points, torch.tensor(rows, dtype=points.dtype)[:, None]], dim=1)


def iterate_clicks(
    forward: Forward,
    image: torch.Tensor,
    mask: torch.Tensor,
    points: torch.Tensor,
    num_iters: int,
    mask_key: str,
    prev_key: str,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``num_iters`` no-gradient steps; return (points with the corrective clicks, previous channel)."""
    prev = torch.zeros_like(mask)
    with torch.no_grad():
        for _ in range(num_iters):
            outputs = forward(image, coord_features(points, prev))
            points = add_corrective_clicks(points, torch.sigmoid(outputs[mask_key]), mask, rng)
            prev = torch.sigmoid(outputs[prev_key])
    return points, prev
