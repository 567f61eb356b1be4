"""EdgeFlow initialised from the RITM HRNet18-OCR64 (COCO+LVIS) weights so it starts where RITM is.

Every parameter the two networks share (interaction stem, HRNet, OCR head, aux and class heads) is copied,
names and shapes checked. What EdgeFlow adds is initialised so that, at the start, the network computes
the pretrained RITM prediction (without a previous-mask input):

- the flow convolutions of both flow-alignment fusions and of the edge head are zero, so every warp is the
  identity; each fusion then adds a copy of the features it fuses into (``x + warp(x) = 2x``), which is
  compensated exactly by halving the weights of the convolutions that read the fused features
  (``transition1`` after fusion 2; ``aux_head`` and ``conv3x3_ocr`` after fusion 3);
- channel 0 of ``coord_features`` now carries the previous *edge* instead of RITM's previous mask, so its
  input weights in ``maps_transform`` start at zero rather than misreading edges as a mask;
- FineNet starts as a pass-through of the coarse mask: one path carries σ(coarse) from the input to the
  output and the final logit is ``k·(σ(coarse) − 0.5)``; every other FineNet weight keeps its random
  initialisation, but the paths they feed are zero at the output so they can learn without disturbing it.

Exact only with BatchNorm statistics frozen (the training default, :func:`ml.training.forward.freeze_batch_norm`)
or in eval mode; the new BatchNorms start as identities (mean 0, variance 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ml.model.build import build_network
from ml.weights.loader import load_model
from ml.weights.names import UNTRACKED_SUFFIX

PASS_THROUGH_GAIN = 8.0
COARSE_CHANNEL = 6  # FineNet input: image 3, coord features 3, σ(coarse), σ(edge)
_HALVED = (
    "feature_extractor.transition1.0.0.weight",
    "feature_extractor.transition1.1.0.0.weight",
    "feature_extractor.aux_head.0.weight",
    "feature_extractor.conv3x3_ocr.0.weight",
)
_ZEROED = (
    "feature_extractor.warp1_align.flow_make.weight",
    "feature_extractor.warp2_align.flow_make.weight",
    "feature_extractor.edge.flow_make.weight",
)


@dataclass
class InitReport:
    """What was copied from the source model and what EdgeFlow initialised fresh."""

    source: str
    copied: list[str] = field(default_factory=list)
    fresh: list[str] = field(default_factory=list)
    adjusted: list[str] = field(default_factory=list)

    def summary(self) -> str:
        prefixes = sorted({".".join(name.split(".")[:2]) for name in self.fresh})
        return (
            f"copied {len(self.copied)} tensors from {self.source}; initialised {len(self.fresh)} fresh "
            f"({', '.join(prefixes)}); adjusted {len(self.adjusted)}: {', '.join(self.adjusted)}"
        )


def copy_shared(target: nn.Module, source_state: dict[str, torch.Tensor], source: str) -> InitReport:
    """Copy every tensor present in both; any shared name with another shape, or a source tensor the target
    lacks, is an error (the networks are meant to share them exactly)."""
    report = InitReport(source)
    target_state = target.state_dict()
    extra = [k for k in source_state if k not in target_state and not k.endswith(UNTRACKED_SUFFIX)]
    if extra:
        raise ValueError(f"{source} has tensors EdgeFlow lacks: {extra[:5]}")
    with torch.no_grad():
        for name, tensor in target_state.items():
            if name.endswith(UNTRACKED_SUFFIX):
                continue
            if name not in source_state:
                report.fresh.append(name)
                continue
            if source_state[name].shape != tensor.shape:
                raise ValueError(f"{name}: {tuple(source_state[name].shape)} in {source}, {tuple(tensor.shape)} here")
            tensor.copy_(source_state[name])
            report.copied.append(name)
    return report


def start_close_to_source(network: nn.Module) -> list[str]:
    """Zero flows, halve fused-feature readers, mute the previous-edge input, make FineNet a pass-through."""
    state = network.state_dict()
    with torch.no_grad():
        for name in _ZEROED:
            state[name].zero_()
        for name in _HALVED:
            state[name].mul_(0.5)
        state["maps_transform.0.weight"][:, 0] = 0.0
        _finenet_pass_through(network.finenet)
    return [*_ZEROED, *_HALVED, "maps_transform.0.weight[:, 0]", "finenet (pass-through path)"]


def _finenet_pass_through(finenet: nn.Module) -> None:
    """Route σ(coarse) through channel 0 of ``atrous1`` and of the bottleneck's shortcut to the output."""
    first, second = finenet.atrous1[0].weight, finenet.atrous1[3].weight
    first[0].zero_()
    first[0, COARSE_CHANNEL, 1, 1] = 1.0
    second[0].zero_()
    second[0, 0, 0, 0] = 1.0
    bottleneck = finenet.final_predict[0]
    bottleneck.conv3.weight[0].zero_()  # main path adds nothing to channel 0
    bottleneck.downsample[0].weight[0].zero_()
    bottleneck.downsample[0].weight[0, 0, 0, 0] = 1.0
    last_conv, last_bn = finenet.final_predict[1], finenet.final_predict[2]
    last_conv.weight.zero_()
    last_conv.weight[0, 0, 1, 1] = PASS_THROUGH_GAIN
    last_bn.bias.fill_(-0.5 * PASS_THROUGH_GAIN)


def edgeflow_from_ritm(source: str = "hrnet18-ocr64-cocolvis") -> tuple[nn.Module, InitReport]:
    """A train-mode EdgeFlow network started from the registered RITM model ``source``."""
    ritm = load_model(source)
    if ritm.arch != "hrnet18-ocr64":
        raise ValueError(f"{source} is a {ritm.arch!r} model; EdgeFlow starts from an 'hrnet18-ocr64' one")
    network = build_network("edgeflow")
    report = copy_shared(network, ritm.network.state_dict(), source)
    report.adjusted = start_close_to_source(network)
    return network.train(), report
