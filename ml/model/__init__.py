"""Networks: HRNet18-OCR64 (RITM) and EdgeFlow, in PyTorch.

``build_network(arch)`` returns ``net(image, coord_features) -> dict[str, Tensor]``; see
:class:`ml.model.interactive.InteractiveNet` for the contract. ``optimize_for_inference(net)`` returns a
faster inference-only copy (BatchNorm folded into convolutions by ``fuse_conv_bn``, channels-last weights).
"""

from ml.model.build import ARCHITECTURES, arch_spec, build_network
from ml.model.fuse import fuse_conv_bn, optimize_for_inference
from ml.model.loaded import LoadedModel, PrevChannel

__all__ = [
    "ARCHITECTURES",
    "LoadedModel",
    "PrevChannel",
    "arch_spec",
    "build_network",
    "fuse_conv_bn",
    "optimize_for_inference",
]
