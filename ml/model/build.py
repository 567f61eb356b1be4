"""Architecture registry: names → network constructors and their input conventions."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from ml.model.finenet import FineNet
from ml.model.hrnet_ocr import HRNetOCR
from ml.model.interactive import InteractiveNet
from ml.model.loaded import PrevChannel


@dataclass(frozen=True)
class ArchSpec:
    """What distinguishes one architecture from another."""

    edge_flow: bool
    prev_channel: PrevChannel
    outputs: tuple[str, ...]


ARCHITECTURES: dict[str, ArchSpec] = {
    "hrnet18-ocr64": ArchSpec(edge_flow=False, prev_channel="mask", outputs=("instances", "instances_aux")),
    "edgeflow": ArchSpec(edge_flow=True, prev_channel="edge", outputs=("instances", "instances_aux", "instances_edge")),
}


def arch_spec(arch: str) -> ArchSpec:
    """Look up an architecture, with a helpful error for unknown names."""
    try:
        return ARCHITECTURES[arch]
    except KeyError:
        raise ValueError(f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}") from None


def build_network(arch: str) -> nn.Module:
    """Build an untrained network (train mode, random init) for ``arch``."""
    spec = arch_spec(arch)
    extractor = HRNetOCR(width=18, ocr_width=64, small=False, edge_flow=spec.edge_flow)
    return InteractiveNet(extractor, FineNet(in_channels=8) if spec.edge_flow else None)
