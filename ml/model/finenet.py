"""EdgeFlow's FineNet: full-resolution refinement of the coarse mask from image, clicks and edges."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ml.model.layers import batch_norm


def _atrous_branch(in_channels: int, dilation: int) -> nn.Sequential:
    """3×3 dilated conv → PReLU → BN → 1×1 conv → PReLU → BN (PReLU before BN, as in the reference)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 32, 3, padding=dilation, dilation=dilation, bias=False),
        nn.PReLU(init=0.25),
        batch_norm(32),
        nn.Conv2d(32, 16, 1, bias=False),
        nn.PReLU(init=0.25),
        batch_norm(16),
    )


class RefineBottleneck(nn.Module):
    """1×1 → 1×1 bottleneck with a projection shortcut.

    ``conv2``/``bn2`` (3×3) exist in the reference weights but its forward never uses them; they are kept
    only so that dynamic-graph weights load. Static exports prune them.
    """

    def __init__(self, inplanes: int, planes: int, expansion: int = 2) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = batch_norm(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = batch_norm(planes)
        self.conv3 = nn.Conv2d(planes, planes * expansion, 1, bias=False)
        self.bn3 = batch_norm(planes * expansion)
        self.downsample = nn.Sequential(
            nn.Conv2d(inplanes, planes * expansion, 1, bias=False), batch_norm(planes * expansion)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn3(self.conv3(out))
        out += self.downsample(x)
        return F.relu(out, inplace=True)


class FineNet(nn.Module):
    """Three dilated branches over [image, coord features, σ(coarse), σ(edge)], then a bottleneck head."""

    def __init__(self, in_channels: int = 8) -> None:
        super().__init__()
        self.atrous1 = _atrous_branch(in_channels, 1)
        self.atrous2 = _atrous_branch(in_channels, 2)
        self.atrous3 = _atrous_branch(in_channels, 3)
        self.final_predict = nn.Sequential(
            RefineBottleneck(48, 32), nn.Conv2d(64, 1, 3, padding=1, bias=False), batch_norm(1)
        )

    def forward(
        self, image: torch.Tensor, coord_features: torch.Tensor, coarse: torch.Tensor, edge: torch.Tensor
    ) -> torch.Tensor:
        """Refined logits at the size of ``coarse``; image and clicks are resized (nearest) if needed."""
        size = (coarse.shape[-2], coarse.shape[-1])
        if tuple(image.shape[-2:]) != size:
            image = F.interpolate(image, size=size, mode="nearest")
            coord_features = F.interpolate(coord_features, size=size, mode="nearest")
        x = torch.cat([image, coord_features, torch.sigmoid(coarse), torch.sigmoid(edge)], dim=1)
        x = torch.cat([self.atrous1(x), self.atrous2(x), self.atrous3(x)], dim=1)
        return self.final_predict(x)
