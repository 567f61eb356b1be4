"""Held-out validation with the real click loop: the same ``ClickSession`` and clicker as ``ml.evaluate``.

The network is evaluated as it stands (eval mode) on full images of held-out objects, with the RITM NoC
protocol cut at ``max_clicks``; the score used to keep the best checkpoint is NoC@90 (lower is better),
ties broken by the mean IoU over the clicks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from torch import nn

from ml.evaluation.metrics import noc
from ml.evaluation.runner import evaluate_sample
from ml.evaluation.sample import Sample
from ml.inference.predictor import ClickSession
from ml.model.build import arch_spec
from ml.model.loaded import LoadedModel
from ml.weights.checkpoint import IMAGENET_MEAN, IMAGENET_STD


@dataclass(frozen=True)
class ValidationResult:
    noc85: float
    noc90: float
    miou: float
    count: int

    def better_than(self, other: ValidationResult | None) -> bool:
        return other is None or (self.noc90, -self.miou) < (other.noc90, -other.miou)


def validate(network: nn.Module, arch: str, samples: Sequence[Sample], max_clicks: int) -> ValidationResult:
    """NoC@85/90 and mean IoU over ``max_clicks`` clicks; leaves ``network`` in eval mode."""
    model = LoadedModel("validation", arch, network.eval(), IMAGENET_MEAN, IMAGENET_STD, arch_spec(arch).prev_channel)
    session = ClickSession(model, zoom_in=True)
    ious = [evaluate_sample(session, sample, max_clicks).ious for sample in samples]
    padded = [row + [row[-1]] * (max_clicks - len(row)) for row in ious]
    return ValidationResult(
        noc85=noc(ious, 0.85, max_clicks),
        noc90=noc(ious, 0.9, max_clicks),
        miou=float(np.mean(padded)),
        count=len(samples),
    )
