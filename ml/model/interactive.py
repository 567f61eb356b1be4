"""The click-conditioned network: interaction stem + feature extractor (+ FineNet for EdgeFlow)."""

from __future__ import annotations

import torch
from torch import nn

from ml.model.finenet import FineNet
from ml.model.hrnet_ocr import HRNetOCR
from ml.model.layers import ScaleLayer, resize


def interaction_stem(in_channels: int = 3, out_channels: int = 64) -> nn.Sequential:
    """``maps_transform``: 1×1 conv → LeakyReLU(0.2) → 3×3 stride-2 conv → ×|scale| (init 0.05)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 16, 1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(16, out_channels, 3, stride=2, padding=1),
        ScaleLayer(0.05),
    )


class InteractiveNet(nn.Module):
    """``net(image, coord_features) -> {"instances", "instances_aux"[, "instances_edge"]}``.

    ``image`` is N×3×H×W, already normalised; ``coord_features`` N×3×H×W = [previous mask or edge
    probability, positive disks, negative disks]. Every output is N×1×H×W logits at input resolution.
    """

    def __init__(self, feature_extractor: HRNetOCR, finenet: FineNet | None = None) -> None:
        super().__init__()
        self.maps_transform = interaction_stem()
        self.feature_extractor = feature_extractor
        self.finenet = finenet

    def forward(self, image: torch.Tensor, coord_features: torch.Tensor) -> dict[str, torch.Tensor]:
        outputs = self.feature_extractor(image, self.maps_transform(coord_features))
        size = (image.shape[-2], image.shape[-1])
        outputs = {name: resize(logits, size, align_corners=True) for name, logits in outputs.items()}
        if self.finenet is not None:
            outputs["instances"] = self.finenet(image, coord_features, outputs["instances"], outputs["instances_edge"])
        return outputs
