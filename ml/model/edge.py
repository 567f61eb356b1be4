"""EdgeFlow's edge branch: a squeeze-body/edge decoupling (from DecoupledSegNet) on the OCR features."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ml.model.flow_align import flow_warp
from ml.model.layers import ConvBNReLU, SameConv2d


class SqueezeBodyEdge(nn.Module):
    """Warp features towards object bodies; the residual ``x - body`` is the edge feature."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.down = nn.Sequential(
            ConvBNReLU(channels, channels, 3, stride=2, padding="same", groups=channels),
            ConvBNReLU(channels, channels, 3, stride=2, padding="same", groups=channels),
        )
        self.flow_make = SameConv2d(2 * channels, 2, 3, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (body, edge) features, both the size of ``x``."""
        size = (x.shape[-2], x.shape[-1])
        down = F.interpolate(self.down(x), size=size, mode="bilinear", align_corners=False)
        flow = self.flow_make(torch.cat([x, down], dim=1))
        body = flow_warp(x, flow)
        return body, x - body
