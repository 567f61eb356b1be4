"""RITM's ``MultiPointSampler``: random positive and negative clicks for one training object.

- positives: ``1 + k`` clicks with P(k) ∝ γ^k (k < ``max_points``), drawn uniformly from the object
  mask eroded three times by a 3×3 kernel (with probability 0.9, when anything is left after erosion);
- negatives: ``k`` clicks with P(k) ∝ γ^k (k ≤ ``max_points``), each drawn from one of three regions
  chosen with probabilities 0.1 / 0.4 / 0.5: the background, the other objects of the image, or a border
  ring (the mask dilated ⌈0.1·√area⌉ times, minus the mask); an empty region falls back to the next one.

Clicks are rows ``(x, y, positive)`` of an integer array (``Click.as_list`` order, ``x`` the column);
:data:`PADDING` rows fill the fixed size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

PADDING = (-1, -1, -1)
_KERNEL = np.ones((3, 3), np.uint8)


@dataclass(frozen=True)
class SamplerParams:
    max_points: int = 24
    prob_gamma: float = 0.8
    erode_prob: float = 0.9
    negative_region_probs: tuple[float, float, float] = (0.1, 0.4, 0.5)  # background, other objects, border


def geometric_probs(count: int, gamma: float) -> np.ndarray:
    """P(k) ∝ γ^k for k in 0..count-1."""
    probs = gamma ** np.arange(count, dtype=np.float64)
    return probs / probs.sum()


def border_ring(mask: np.ndarray) -> np.ndarray:
    """The mask dilated ⌈0.1·√area⌉ times by a 3×3 kernel, minus the mask."""
    iterations = max(1, math.ceil(0.1 * math.sqrt(float(mask.sum()))))
    dilated = cv2.dilate(mask.astype(np.uint8), _KERNEL, iterations=iterations) > 0
    return dilated & ~mask


def _pick(region: np.ndarray, count: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """Up to ``count`` distinct pixels ``(x, y)`` of ``region``."""
    ys, xs = np.nonzero(region)
    if len(ys) == 0 or count == 0:
        return []
    chosen = rng.choice(len(ys), size=min(count, len(ys)), replace=False)
    return [(int(xs[i]), int(ys[i])) for i in chosen]


def sample_points(
    target: np.ndarray, others: np.ndarray, valid: np.ndarray, params: SamplerParams, rng: np.random.Generator
) -> np.ndarray:
    """(2·max_points + 1)×3 int32 rows ``(x, y, positive)``, positives first, then negatives, then padding.

    ``valid`` excludes pixels that must never be clicked (ignored regions).
    """
    rows: list[tuple[int, int, int]] = []
    num_positive = 1 + int(rng.choice(params.max_points, p=geometric_probs(params.max_points, params.prob_gamma)))
    region = target & valid
    if rng.random() < params.erode_prob:
        eroded = cv2.erode(region.astype(np.uint8), _KERNEL, iterations=3) > 0
        region = eroded if eroded.any() else region
    rows += [(x, y, 1) for x, y in _pick(region, num_positive, rng)]

    num_negative = int(rng.choice(params.max_points + 1, p=geometric_probs(params.max_points + 1, params.prob_gamma)))
    regions = [~target & ~others & valid, others & ~target & valid, border_ring(target) & valid]
    for _ in range(num_negative):
        first = int(rng.choice(3, p=np.asarray(params.negative_region_probs)))
        for offset in range(3):
            picked = _pick(regions[(first + offset) % 3], 1, rng)
            if picked:
                rows.append((*picked[0], 0))
                break
    out = np.full((2 * params.max_points + 1, 3), PADDING, dtype=np.int32)
    if rows:
        out[: len(rows)] = np.asarray(rows, dtype=np.int32)
    return out
