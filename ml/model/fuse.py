"""Inference-only speed-up: fold every BatchNorm that directly follows a convolution into that convolution.

Which BN follows which conv is found by running the network once on a small input and matching each BN's
input tensor to the conv that produced it (the outputs are kept alive during the probe so tensor ids
cannot be reused). BNs after something else (FineNet's PReLU → BN) are left alone. The result is
numerically equivalent up to float rounding and must not be trained.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def _conv_bn_pairs(network: nn.Module, size: tuple[int, int]) -> list[tuple[nn.Conv2d, str]]:
    """(conv, dotted path of the BN fed by it) for each BN whose input is a conv output."""
    produced: dict[int, tuple[nn.Conv2d, torch.Tensor]] = {}
    pairs: list[tuple[nn.Conv2d, str]] = []
    handles = []
    for path, module in network.named_modules():
        if isinstance(module, nn.Conv2d):

            def after_conv(mod: nn.Module, _args: object, out: torch.Tensor) -> None:
                produced[id(out)] = (mod, out)  # type: ignore[assignment]

            handles.append(module.register_forward_hook(after_conv))
        elif isinstance(module, nn.BatchNorm2d):

            def before_bn(_mod: nn.Module, args: tuple[torch.Tensor, ...], path: str = path) -> None:
                if id(args[0]) in produced and all(p != path for _, p in pairs):
                    pairs.append((produced[id(args[0])][0], path))

            handles.append(module.register_forward_pre_hook(before_bn))
    try:
        with torch.inference_mode():
            network(torch.zeros(1, 3, *size), torch.zeros(1, 3, *size))
    finally:
        for handle in handles:
            handle.remove()
    return pairs


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    with torch.no_grad():
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        conv.weight.mul_(scale.reshape(-1, 1, 1, 1))
        conv.bias = nn.Parameter((bias - bn.running_mean) * scale + bn.bias)


def fuse_conv_bn(network: nn.Module, probe_size: tuple[int, int] = (64, 64)) -> nn.Module:
    """Return an eval-mode copy of ``network`` with conv→BN pairs folded (BN replaced by ``Identity``)."""
    fused = copy.deepcopy(network).eval()
    for conv, bn_path in _conv_bn_pairs(fused, probe_size):
        parent_path, _, attr = bn_path.rpartition(".")
        parent = fused.get_submodule(parent_path)
        _fold(conv, getattr(parent, attr))
        setattr(parent, attr, nn.Identity())
    return fused


def optimize_for_inference(network: nn.Module, channels_last: bool = True) -> nn.Module:
    """An eval-only copy tuned for CPU inference: BN folded and, by default, NHWC (channels-last) weights.

    Channels-last weights make oneDNN pick NHWC kernels and keep activations NHWC throughout, avoiding
    layout reorders around every convolution; callers may keep passing ordinary NCHW inputs.
    """
    fused = fuse_conv_bn(network)
    return fused.to(memory_format=torch.channels_last) if channels_last else fused
