"""The ``feature_extractor``: HRNet + OCR head, optionally with EdgeFlow's late fusions and edge head.

Plain (RITM ``HRNet18-OCR64``): interaction features are added after the first stem conv only.
EdgeFlow adds two flow-aligned fusions (after ``layer1`` and after stage-4 aggregation) and an edge head
on the OCR output. All heads return logits at H/4.
"""

from __future__ import annotations

import torch
from torch import nn

from ml.model.edge import SqueezeBodyEdge
from ml.model.flow_align import AlignedModule
from ml.model.hrnet import HighResolutionNet
from ml.model.layers import ConvBNReLU, batch_norm, resize
from ml.model.ocr import SpatialGather, SpatialOCR


class HRNetOCR(HighResolutionNet):
    """HRNetV2 + OCR with a single object class; ``edge_flow=True`` builds EdgeFlow's CoarseNet."""

    def __init__(self, width: int = 18, ocr_width: int = 64, small: bool = False, edge_flow: bool = False) -> None:
        super().__init__(width, small)
        channels, mid = self.out_channels, 2 * ocr_width
        self.edge_flow = edge_flow
        self.aux_head = nn.Sequential(
            nn.Conv2d(channels, channels, 1), batch_norm(channels), nn.ReLU(inplace=True), nn.Conv2d(channels, 1, 1)
        )
        self.conv3x3_ocr = nn.Sequential(nn.Conv2d(channels, mid, 3, padding=1), batch_norm(mid), nn.ReLU(inplace=True))
        self.ocr_gather_head = SpatialGather()
        self.ocr_distri_head = SpatialOCR(mid, ocr_width, mid, dropout=0.05)
        self.cls_head = nn.Conv2d(mid, 1, 1)
        if edge_flow:
            self.warp1_conv = ConvBNReLU(64, 256, 3, stride=2, padding=1, bias=False)
            self.warp1_align = AlignedModule(256)
            self.warp2_conv = ConvBNReLU(256, channels, 3, padding=1, bias=False)
            self.warp2_align = AlignedModule(channels)
            self.edge = SqueezeBodyEdge(mid)
            self.edge_fusion = nn.Conv2d(2 * mid, 2 * mid, 1, bias=False)
            self.edge_out = nn.Sequential(ConvBNReLU(2 * mid, 48, 3, bias=False), nn.Conv2d(48, 1, 1, bias=False))

    def forward(self, image: torch.Tensor, interaction: torch.Tensor) -> dict[str, torch.Tensor]:
        """``interaction`` is the ``maps_transform`` output (64×H/2). Returns logits at H/4."""
        x = self.stem_second(self.stem_first(image) + interaction)  # early fusion
        warped = None
        if self.edge_flow:
            warped = self.warp1_align(self.warp1_conv(interaction), x)
            x = x + warped
        feats = self.aggregate(self.stages(x))
        if warped is not None:
            feats = feats + self.warp2_align(self.warp2_conv(warped), feats)
        return self._heads(feats)

    def _heads(self, feats: torch.Tensor) -> dict[str, torch.Tensor]:
        aux = self.aux_head(feats)
        feats1 = self.conv3x3_ocr(feats)
        feats2 = self.ocr_distri_head(feats1, self.ocr_gather_head(feats1, aux))
        edge_logits = self._edge_head(feats1, feats2) if self.edge_flow else None  # runs before cls_head
        out = {"instances": self.cls_head(feats2), "instances_aux": aux}
        if edge_logits is not None:
            out["instances_edge"] = edge_logits
        return out

    def _edge_head(self, feats1: torch.Tensor, feats2: torch.Tensor) -> torch.Tensor:
        """Edge logits from the body/edge decoupling of the OCR output, fused with the OCR stem features."""
        _, edge = self.edge(feats2)
        edge = resize(edge, (feats1.shape[-2], feats1.shape[-1]), align_corners=True)
        return self.edge_out(self.edge_fusion(torch.cat([edge, feats1], dim=1)))
