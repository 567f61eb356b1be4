"""Flow warping and SFNet's flow-alignment module (FAM), as used by EdgeFlow's late fusions."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ml.model.layers import resize


def flow_warp(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample ``x`` at a base grid displaced by ``flow`` (N×2×H×W, channels x then y).

    Like the reference: the base grid is ``linspace(-1, 1)`` on each axis, the flow is divided by
    (W, H) — not (W-1)/2 — and sampling is bilinear, zero padding, ``align_corners=True``.
    """
    if torch.jit.is_tracing():
        return _flow_warp_shape_free(x, flow)
    h, w = flow.shape[-2:]
    ys = torch.linspace(-1.0, 1.0, h, dtype=flow.dtype, device=flow.device)
    xs = torch.linspace(-1.0, 1.0, w, dtype=flow.dtype, device=flow.device)
    base = torch.stack([xs.expand(h, w), ys[:, None].expand(h, w)], dim=-1)
    norm = torch.tensor([w, h], dtype=flow.dtype, device=flow.device)
    grid = base + flow.permute(0, 2, 3, 1) / norm
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def _flow_warp_shape_free(x: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """:func:`flow_warp` built from tensor ops only, so that a traced graph (OpenVINO/ONNX export) keeps H and W
    dynamic instead of baking the example's ``linspace`` and ``(W, H)`` in as constants. Equal up to rounding."""
    xs = _unit_grid(flow[0, 0, 0, :])
    ys = _unit_grid(flow[0, 0, :, 0])
    base = torch.stack([xs[None, :] + 0.0 * ys[:, None], ys[:, None] + 0.0 * xs[None, :]], dim=-1)
    norm = torch.cat([torch.ones_like(xs).sum(0, keepdim=True), torch.ones_like(ys).sum(0, keepdim=True)])
    grid = base + flow.permute(0, 2, 3, 1) / norm
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=True)


def _unit_grid(like: torch.Tensor) -> torch.Tensor:
    """``linspace(-1, 1, n)`` for the n elements of the 1-D ``like``."""
    index = torch.cumsum(torch.ones_like(like), 0) - 1.0
    return index * (2.0 / index[-1:].clamp(min=1.0)) - 1.0


class AlignedModule(nn.Module):
    """Predict a flow from both streams and warp the ``high`` (image/HRNet) features with it."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.down_h = nn.Conv2d(channels, channels, 1, bias=False)
        self.down_l = nn.Conv2d(channels, channels, 1, bias=False)
        self.flow_make = nn.Conv2d(2 * channels, 2, 3, padding=1, bias=False)

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        size = (low.shape[-2], low.shape[-1])
        low_feat = self.down_l(low)  # the reference runs down_l before down_h
        high_feat = resize(self.down_h(high), size, align_corners=True)
        flow = self.flow_make(torch.cat([high_feat, low_feat], dim=1))
        return flow_warp(high, flow)
