"""Small building blocks shared by the networks, named like their Paddle counterparts.

Naming rule for weight conversion: every module/parameter path equals the Paddle structured name, except
BatchNorm statistics (Paddle ``_mean``/``_variance`` -> torch ``running_mean``/``running_var``) and PReLU's
slope (Paddle ``_weight`` -> torch ``weight``). See :mod:`ml.weights.names`.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

Padding = int | Literal["same"]

BN_EPS = 1e-5  # Paddle BatchNorm2D default (checked in the static programs: epsilon 1e-5)


def batch_norm(channels: int) -> nn.BatchNorm2d:
    """A BatchNorm2d with Paddle's defaults (eps 1e-5, Paddle momentum 0.9 == torch momentum 0.1)."""
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=0.1)


def resize(x: torch.Tensor, size: tuple[int, int], align_corners: bool) -> torch.Tensor:
    """Bilinear resize; a no-op when the size already matches and ``align_corners`` is True.

    With ``align_corners=True`` a same-size bilinear resize samples exactly on the input grid, so skipping
    it is bit-exact and saves a copy.
    """
    if align_corners and tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=align_corners)


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF/Paddle ``padding='same'``: total padding split with the extra pixel at the end."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """Conv2d with Paddle's dynamic ``'same'`` padding (asymmetric for even inputs and stride 2)."""

    def __init__(self, *args: int, **kwargs: int | bool) -> None:
        super().__init__(*args, padding=0, **kwargs)  # type: ignore[misc]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.stride, self.dilation
        if torch.jit.is_tracing() and (sh, sw) != (1, 1):
            return self._forward_shape_free(x)
        top, bottom = same_padding(x.shape[-2], kh, sh, dh)
        left, right = same_padding(x.shape[-1], kw, sw, dw)
        if top == bottom and left == right:
            return F.conv2d(x, self.weight, self.bias, self.stride, (top, left), self.dilation, self.groups)
        return super().forward(F.pad(x, (left, right, top, bottom)))

    def _forward_shape_free(self, x: torch.Tensor) -> torch.Tensor:
        """The same result without size-dependent padding, for traced exports with dynamic H/W.

        For a 3×3 kernel at stride 2, 'same' pads ``n % 2`` before and 1 after, so the kept window centres are
        always ``n-1, n-3, ...`` counted from the end: a stride-1 conv, flipped, subsampled and flipped back.
        """
        if self.kernel_size != (3, 3) or self.stride != (2, 2) or self.dilation != (1, 1):
            raise NotImplementedError(f"shape-free 'same' padding for {self.kernel_size}/{self.stride}/{self.dilation}")
        full = F.conv2d(x, self.weight, self.bias, 1, 1, 1, self.groups)
        return full.flip(-2, -1)[..., ::2, ::2].flip(-2, -1)


class ConvBNReLU(nn.Module):
    """PaddleSeg's ``ConvBNReLU``: parameters live under ``_conv`` and ``_batch_norm``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: Padding = "same",
        groups: int = 1,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if padding == "same" and stride > 1:
            self._conv: nn.Conv2d = SameConv2d(in_channels, out_channels, kernel_size, stride, groups=groups, bias=bias)
        else:
            pad = kernel_size // 2 if padding == "same" else padding
            self._conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, pad, groups=groups, bias=bias)
        self._batch_norm = batch_norm(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self._batch_norm(self._conv(x)), inplace=True)


class ScaleLayer(nn.Module):
    """Multiply by ``|scale * lr_mult|``, a single learnable scalar (RITM's ``ScaleLayer``)."""

    def __init__(self, init_value: float = 0.05, lr_mult: float = 1.0) -> None:
        super().__init__()
        self.lr_mult = lr_mult
        self.scale = nn.Parameter(torch.full((1,), init_value / lr_mult))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.abs(self.scale * self.lr_mult)
