"""The training forward pass and the BatchNorm policy used while training.

:func:`training_forward` is ``InteractiveNet.forward`` that also returns the coarse logits (needed for
phase 1, where the mask loss applies to CoarseNet) and can skip FineNet when it is not trained.
"""

from __future__ import annotations

import torch
from torch import nn

from ml.model.layers import resize

COARSE_KEY = "instances_coarse"


def training_forward(
    network: nn.Module, image: torch.Tensor, coord_features: torch.Tensor, with_finenet: bool = True
) -> dict[str, torch.Tensor]:
    """``instances_coarse``, ``instances_aux``, ``instances_edge`` and (``with_finenet``) ``instances``."""
    outputs = network.feature_extractor(image, network.maps_transform(coord_features))
    size = (image.shape[-2], image.shape[-1])
    outputs = {name: resize(logits, size, align_corners=True) for name, logits in outputs.items()}
    outputs[COARSE_KEY] = outputs.pop("instances")
    if with_finenet:
        outputs["instances"] = network.finenet(image, coord_features, outputs[COARSE_KEY], outputs["instances_edge"])
    return outputs


def freeze_batch_norm(network: nn.Module) -> None:
    """Put every BatchNorm in eval mode: normalise with the stored statistics and never update them.

    With batches of 2–4 crops on a CPU, batch statistics are too noisy to keep the pretrained ones; the
    BatchNorm scale and shift stay trainable. Call after every ``network.train()``.
    """
    for module in network.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.eval()
