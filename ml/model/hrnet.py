"""HRNetV2 backbone (W18 by default): stem, ``layer1`` bottlenecks, stages 2-4 and output aggregation.

Structure and names follow RITM/EISeg's ``HighResolutionNet`` so Paddle weights map one-to-one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ml.model.layers import batch_norm, resize


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """3×3 convolution without bias, padding 1."""
    return nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 conv+BN with a residual connection (expansion 1)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = batch_norm(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = batch_norm(planes)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = self.bn2(self.conv2(out))
        out += x if self.downsample is None else self.downsample(x)
        return F.relu(out, inplace=True)


class Bottleneck(nn.Module):
    """1×1 reduce, 3×3, 1×1 expand (×4) with a residual connection."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = batch_norm(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = batch_norm(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, 1, bias=False)
        self.bn3 = batch_norm(planes * self.expansion)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)), inplace=True)
        out = F.relu(self.bn2(self.conv2(out)), inplace=True)
        out = self.bn3(self.conv3(out))
        # The shortcut runs after the main path, as in the reference (this fixes the static layer order).
        out += x if self.downsample is None else self.downsample(x)
        return F.relu(out, inplace=True)


Block = type[BasicBlock] | type[Bottleneck]


def make_layer(block: Block, inplanes: int, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
    """A chain of residual blocks; the first gets a 1×1 conv+BN shortcut when the shape changes."""
    downsample = None
    if stride != 1 or inplanes != planes * block.expansion:
        downsample = nn.Sequential(
            nn.Conv2d(inplanes, planes * block.expansion, 1, stride, bias=False),
            batch_norm(planes * block.expansion),
        )
    layers: list[nn.Module] = [block(inplanes, planes, stride, downsample)]
    layers += [block(planes * block.expansion, planes) for _ in range(1, blocks)]
    return nn.Sequential(*layers)


def _conv_bn(in_channels: int, out_channels: int, relu: bool) -> nn.Sequential:
    """3×3 stride-2 conv + BN (+ ReLU), the down-sampling unit of transitions and fuse layers."""
    layers: list[nn.Module] = [conv3x3(in_channels, out_channels, 2), batch_norm(out_channels)]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class HighResolutionModule(nn.Module):
    """Parallel branches of BasicBlocks followed by all-to-all multi-resolution fusion."""

    def __init__(self, channels: list[int], num_blocks: int, multi_scale_output: bool = True) -> None:
        super().__init__()
        self.num_branches = len(channels)
        self.branches = nn.ModuleList(make_layer(BasicBlock, c, c, num_blocks) for c in channels)
        outputs = self.num_branches if multi_scale_output else 1
        self.fuse_layers = nn.ModuleList(
            nn.ModuleList(self._fuse_layer(channels, i, j) for j in range(self.num_branches)) for i in range(outputs)
        )

    @staticmethod
    def _fuse_layer(channels: list[int], i: int, j: int) -> nn.Module | None:
        """The path from branch j to branch i (None on the diagonal)."""
        if j > i:
            return nn.Sequential(nn.Conv2d(channels[j], channels[i], 1, bias=False), batch_norm(channels[i]))
        if j == i:
            return None
        steps = [_conv_bn(channels[j], channels[j], relu=True) for _ in range(i - j - 1)]
        steps.append(_conv_bn(channels[j], channels[i], relu=False))
        return nn.Sequential(*steps)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs, strict=True)]
        if self.num_branches == 1:
            return xs
        fused = []
        for i, paths in enumerate(self.fuse_layers):
            size = (xs[i].shape[-2], xs[i].shape[-1])
            y = xs[0] if i == 0 else paths[0](xs[0])
            for j in range(1, self.num_branches):
                if j == i:
                    y = y + xs[j]
                elif j > i:
                    y = y + resize(paths[j](xs[j]), size, align_corners=True)
                else:
                    y = y + paths[j](xs[j])
            fused.append(F.relu(y, inplace=True))
        return fused


class HighResolutionNet(nn.Module):
    """HRNetV2 backbone. Subclasses add heads; the forward is split so fusions can be inserted.

    ``small=True`` gives HRNet18s (2 blocks per branch, 2 bottlenecks, 3/2 modules in stages 3/4).
    """

    def __init__(self, width: int = 18, small: bool = False) -> None:
        super().__init__()
        blocks = 2 if small else 4
        self.widths = [width, 2 * width, 4 * width, 8 * width]
        self.conv1 = conv3x3(3, 64, 2)
        self.bn1 = batch_norm(64)
        self.conv2 = conv3x3(64, 64, 2)
        self.bn2 = batch_norm(64)
        self.layer1 = make_layer(Bottleneck, 64, 64, 2 if small else 4)
        self.transition1 = self._transition([256], self.widths[:2])
        self.stage2 = self._stage(self.widths[:2], 1, blocks)
        self.transition2 = self._transition(self.widths[:2], self.widths[:3])
        self.stage3 = self._stage(self.widths[:3], 3 if small else 4, blocks)
        self.transition3 = self._transition(self.widths[:3], self.widths)
        self.stage4 = self._stage(self.widths, 2 if small else 3, blocks)

    @property
    def out_channels(self) -> int:
        """Channels of the aggregated output (270 for W18)."""
        return sum(self.widths)

    @staticmethod
    def _transition(before: list[int], after: list[int]) -> nn.ModuleList:
        layers: list[nn.Module | None] = []
        for i, channels in enumerate(after):
            if i < len(before):
                if before[i] == channels:
                    layers.append(None)
                else:
                    layers.append(
                        nn.Sequential(conv3x3(before[i], channels), batch_norm(channels), nn.ReLU(inplace=True))
                    )
            else:
                source = before[-1]
                steps = [
                    _conv_bn(source, source if k < i - len(before) else channels, relu=True)
                    for k in range(i + 1 - len(before))
                ]
                layers.append(nn.Sequential(*steps))
        return nn.ModuleList(layers)

    @staticmethod
    def _stage(channels: list[int], modules: int, blocks: int) -> nn.Sequential:
        return nn.Sequential(*(HighResolutionModule(channels, blocks) for _ in range(modules)))

    def stem_first(self, image: torch.Tensor) -> torch.Tensor:
        """conv1 → BN → ReLU (H/2), where the interaction features are added."""
        return F.relu(self.bn1(self.conv1(image)), inplace=True)

    def stem_second(self, x: torch.Tensor) -> torch.Tensor:
        """conv2 → BN → ReLU (H/4), then ``layer1`` (256 channels)."""
        return self.layer1(F.relu(self.bn2(self.conv2(x)), inplace=True))

    def stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Transitions and stages 2-4; returns the four branch outputs."""
        ys = self.stage2([x if t is None else t(x) for t in self.transition1])
        ys = self.stage3(self._transit(self.transition2, ys))
        return self.stage4(self._transit(self.transition3, ys))

    @staticmethod
    def _transit(transition: nn.ModuleList, ys: list[torch.Tensor]) -> list[torch.Tensor]:
        """Keep existing branches; new branches are made from the lowest-resolution one."""
        return [ys[i] if t is None else t(ys[min(i, len(ys) - 1)]) for i, t in enumerate(transition)]

    @staticmethod
    def aggregate(ys: list[torch.Tensor]) -> torch.Tensor:
        """Upsample all branches to branch 0's size (bilinear, align_corners) and concatenate."""
        size = (ys[0].shape[-2], ys[0].shape[-1])
        return torch.cat([ys[0]] + [resize(y, size, align_corners=True) for y in ys[1:]], dim=1)
