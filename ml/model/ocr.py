"""Object-Contextual Representations head (OCR, as used by RITM/EISeg with ``ocr_width`` 64).

With one object class the gather softmax runs over positions and the attention softmax over a single
key, so the attention is identically 1; it is still computed so the weights and numerics match.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ml.model.layers import batch_norm


def _bn_relu(channels: int) -> nn.Sequential:
    return nn.Sequential(batch_norm(channels), nn.ReLU(inplace=True))


def _conv1x1_bn_relu(in_channels: int, out_channels: int) -> list[nn.Module]:
    return [nn.Conv2d(in_channels, out_channels, 1, bias=False), _bn_relu(out_channels)]


class SpatialGather(nn.Module):
    """Soft object-region pooling: softmax of the region logits over positions, weighted sum of features."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, feats: torch.Tensor, probs: torch.Tensor) -> torch.Tensor:
        n, c = feats.shape[:2]
        weights = F.softmax(self.scale * probs.flatten(2), dim=2)  # N×K×HW
        context = torch.matmul(weights, feats.flatten(2).transpose(1, 2))  # N×K×C
        return context.transpose(1, 2).reshape(n, c, -1, 1)


class ObjectAttentionBlock(nn.Module):
    """Pixel-to-object attention (``ObjectAttentionBlock2D`` with scale 1)."""

    def __init__(self, in_channels: int, key_channels: int) -> None:
        super().__init__()
        self.key_channels = key_channels
        self.f_pixel = nn.Sequential(
            *_conv1x1_bn_relu(in_channels, key_channels), *_conv1x1_bn_relu(key_channels, key_channels)
        )
        self.f_object = nn.Sequential(
            *_conv1x1_bn_relu(in_channels, key_channels), *_conv1x1_bn_relu(key_channels, key_channels)
        )
        self.f_down = nn.Sequential(*_conv1x1_bn_relu(in_channels, key_channels))
        self.f_up = nn.Sequential(*_conv1x1_bn_relu(key_channels, in_channels))

    def forward(self, x: torch.Tensor, proxy: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        query = self.f_pixel(x).flatten(2).transpose(1, 2)  # N×HW×Ck
        key = self.f_object(proxy).flatten(2)  # N×Ck×K
        value = self.f_down(proxy).flatten(2).transpose(1, 2)  # N×K×Ck
        sim = F.softmax(torch.matmul(query, key) * self.key_channels**-0.5, dim=-1)
        context = torch.matmul(sim, value).transpose(1, 2).reshape(n, self.key_channels, h, w)
        return self.f_up(context)


class SpatialOCR(nn.Module):
    """Augment pixel features with their object context: concat[context, feats] → 1×1 conv, BN, ReLU, dropout."""

    def __init__(self, in_channels: int, key_channels: int, out_channels: int, dropout: float = 0.05) -> None:
        super().__init__()
        self.object_context_block = ObjectAttentionBlock(in_channels, key_channels)
        self.conv_bn_dropout = nn.Sequential(
            nn.Conv2d(2 * in_channels, out_channels, 1, bias=False), _bn_relu(out_channels), nn.Dropout2d(dropout)
        )

    def forward(self, feats: torch.Tensor, proxy: torch.Tensor) -> torch.Tensor:
        context = self.object_context_block(feats, proxy)
        return self.conv_bn_dropout(torch.cat([context, feats], dim=1))
