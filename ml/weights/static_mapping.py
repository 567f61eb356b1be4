"""Map a static program's auto-generated parameter names onto a torch network.

Static exports name parameters per layer type in construction order (``conv2d_12.w_0``,
``batch_norm2d_3.w_1``), which says nothing about where they belong. But the program's operators run in
the same order as the reference network's layers, and so does our port. So:

1. walk the ops in order and list each *layer* (the name prefix before ``.w_0``/``.b_0``…) at its first
   use, with the role of each tensor taken from the op slot (``Filter``, ``Scale``, ``Mean`` …);
2. run the torch network once on a small dummy input and record the order in which modules that own
   parameters are called;
3. pair the two sequences one-to-one, checking the layer kind, every shape and the conv geometry
   (stride, padding, dilation, groups).

Torch modules that never run (FineNet's unused ``conv2``/``bn2``) are absent from both sequences.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ml.model.layers import SameConv2d, ScaleLayer
from ml.weights.errors import WeightsMismatchError
from ml.weights.names import UNTRACKED_SUFFIX
from ml.weights.paddle_static import OpDesc, StaticModel

_SLOT_ROLES = {
    "batch_norm": {"Scale": "weight", "Bias": "bias", "Mean": "running_mean", "Variance": "running_var"},
    "conv2d": {"Filter": "weight"},
    "depthwise_conv2d": {"Filter": "weight"},
    "prelu": {"Alpha": "weight"},
}
_SUFFIX_ROLES = {"w_0": "weight", "b_0": "bias"}
_KINDS: dict[type[nn.Module], tuple[str, ...]] = {
    nn.Conv2d: ("conv2d",),
    nn.BatchNorm2d: ("batch_norm",),
    nn.PReLU: ("p_re_lu", "prelu"),
    ScaleLayer: ("scale_layer",),
}


@dataclass
class StaticLayer:
    """One Paddle layer as seen in the program: role → tensor name, and the op that first used it."""

    prefix: str
    op: OpDesc
    tensors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TorchLayer:
    """A torch module that owns tensors, in call order."""

    path: str
    module: nn.Module


def _role(op: OpDesc, slot: str, name: str) -> str:
    by_slot = _SLOT_ROLES.get(op.type, {})
    if slot in by_slot:
        return by_slot[slot]
    return _SUFFIX_ROLES.get(name.rpartition(".")[2], name.rpartition(".")[2])


def static_layers(model: StaticModel) -> list[StaticLayer]:
    """Layers in order of first use by the program's operators."""
    layers: dict[str, StaticLayer] = {}
    for op in model.program.ops:
        for slot, args in op.inputs.items():
            for name in args:
                if name not in model.tensors:
                    continue
                prefix = name.rpartition(".")[0]
                layer = layers.setdefault(prefix, StaticLayer(prefix, op))
                layer.tensors.setdefault(_role(op, slot, name), name)
                if op.type in _SLOT_ROLES and layer.op.type not in _SLOT_ROLES:
                    layer.op = op  # the defining op (conv/bn), not e.g. a bias reshape
    return list(layers.values())


def _own_tensors(module: nn.Module) -> dict[str, torch.Tensor]:
    tensors = dict(module.named_parameters(recurse=False))
    tensors.update((k, v) for k, v in module.named_buffers(recurse=False) if not k.endswith(UNTRACKED_SUFFIX))
    return tensors


def torch_call_order(network: nn.Module, size: tuple[int, int] = (64, 64)) -> list[TorchLayer]:
    """Modules that own tensors, in the order a dummy forward calls them (first call only)."""
    order: list[TorchLayer] = []
    seen: set[int] = set()
    handles = []
    for path, module in network.named_modules():
        if not _own_tensors(module):
            continue

        def hook(mod: nn.Module, _args: object, path: str = path) -> None:
            if id(mod) not in seen:
                seen.add(id(mod))
                order.append(TorchLayer(path, mod))

        handles.append(module.register_forward_pre_hook(hook))
    was_training = network.training
    try:
        network.eval()
        with torch.inference_mode():
            network(torch.zeros(1, 3, *size), torch.zeros(1, 3, *size))
    finally:
        network.train(was_training)
        for handle in handles:
            handle.remove()
    return order


def _mismatch(arch: str, torch_layer: TorchLayer | None, static: StaticLayer | None, why: str) -> WeightsMismatchError:
    where = torch_layer.path if torch_layer else "(network has no more layers)"
    what = static.prefix if static else "(program has no more layers)"
    return WeightsMismatchError(
        f"weights do not fit architecture {arch!r}: {why} (network module {where}, static layer {what})"
    )


def _check_geometry(op: OpDesc, conv: nn.Conv2d) -> str | None:
    """Compare a conv op's attributes with the torch conv; return a description of any difference."""
    attrs = op.attrs
    if list(attrs.get("strides", [1, 1])) != list(conv.stride):
        return f"stride {attrs.get('strides')} vs {list(conv.stride)}"
    if list(attrs.get("dilations", [1, 1])) != list(conv.dilation):
        return f"dilation {attrs.get('dilations')} vs {list(conv.dilation)}"
    if int(attrs.get("groups", 1)) != conv.groups:
        return f"groups {attrs.get('groups')} vs {conv.groups}"
    algorithm = attrs.get("padding_algorithm", "EXPLICIT")
    if algorithm == "SAME":
        symmetric_same = all(s == 1 for s in conv.stride) and list(conv.padding) == [
            (k - 1) * d // 2 for k, d in zip(conv.kernel_size, conv.dilation, strict=True)
        ]
        return None if isinstance(conv, SameConv2d) or symmetric_same else "Paddle pads 'SAME'"
    if algorithm == "VALID":
        return None if list(conv.padding) == [0, 0] else "Paddle pads 'VALID'"
    pads = list(attrs.get("paddings", [0, 0]))
    if len(pads) == 4 and pads[0] == pads[1] and pads[2] == pads[3]:
        pads = [pads[0], pads[2]]
    if isinstance(conv, SameConv2d) or pads != list(conv.padding):
        return f"padding {attrs.get('paddings')} vs {conv.padding}"
    return None


def _pair(arch: str, static: StaticLayer, layer: TorchLayer, tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    module = layer.module
    kinds = next((k for t, k in _KINDS.items() if isinstance(module, t)), ())
    if kinds and not static.prefix.startswith(kinds):
        raise _mismatch(arch, layer, static, f"a {type(module).__name__} cannot take a {static.prefix}")
    own = _own_tensors(module)
    roles = dict(static.tensors)
    if len(own) == 1 and len(roles) == 1:
        roles = {next(iter(own)): next(iter(roles.values()))}
    if set(roles) != set(own):
        raise _mismatch(arch, layer, static, f"tensors {sorted(roles)} vs {sorted(own)}")
    out = {}
    for role, name in roles.items():
        expected, got = list(own[role].shape), list(tensors[name].shape)
        if expected != got:
            raise _mismatch(
                arch,
                layer,
                static,
                f"first mismatching parameter {layer.path}.{role} has shape {expected} in the network "
                f"but the file's {name} has shape {got}",
            )
        out[f"{layer.path}.{role}"] = tensors[name]
    if isinstance(module, nn.Conv2d) and (problem := _check_geometry(static.op, module)):
        raise _mismatch(arch, layer, static, problem)
    return out


def map_static_model(network: nn.Module, model: StaticModel, arch: str) -> tuple[dict[str, np.ndarray], list[str]]:
    """Return (torch ``state_dict`` entries, names of tensors never run and thus absent from the file)."""
    statics = static_layers(model)
    layers = torch_call_order(network)
    state: dict[str, np.ndarray] = {}
    for static, layer in zip(statics, layers, strict=False):  # the first differing layer raises here
        state.update(_pair(arch, static, layer, model.tensors))
    if len(statics) != len(layers):
        index = min(len(statics), len(layers))
        extra_torch = layers[index] if index < len(layers) else None
        extra_static = statics[index] if index < len(statics) else None
        raise _mismatch(arch, extra_torch, extra_static, f"layer counts differ ({len(layers)} vs {len(statics)})")
    used = {name for static in statics for name in static.tensors.values()}
    if unused := sorted(set(model.tensors) - used):
        raise WeightsMismatchError(f"static tensors not used by any operator: {unused[:5]}")
    called = {layer.path for layer in layers}
    never_run = [
        f"{path}.{name}"
        for path, module in network.named_modules()
        if path not in called
        for name in _own_tensors(module)
    ]
    return state, never_run
