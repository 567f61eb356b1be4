"""Apply a name → array mapping to a network, strictly, with errors that name the first mismatch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import torch
from torch import nn

from ml.weights.errors import WeightsMismatchError
from ml.weights.names import UNTRACKED_SUFFIX

ArrayLike = np.ndarray | torch.Tensor


def _shape(value: ArrayLike) -> list[int]:
    return [int(d) for d in value.shape]


def _as_tensor(value: ArrayLike, like: torch.Tensor) -> torch.Tensor:
    tensor = torch.from_numpy(np.ascontiguousarray(value)) if isinstance(value, np.ndarray) else value
    return tensor.to(dtype=like.dtype)


def check_state(
    network: nn.Module, state: Mapping[str, ArrayLike], arch: str, may_be_missing: Iterable[str] = ()
) -> None:
    """Raise :class:`WeightsMismatchError` at the first parameter that is missing, extra or misshapen."""
    expected = {k: v for k, v in network.state_dict().items() if not k.endswith(UNTRACKED_SUFFIX)}
    optional = set(may_be_missing)
    for name, tensor in expected.items():
        if name not in state:
            if name in optional:
                continue
            raise WeightsMismatchError(
                f"weights do not fit architecture {arch!r}: parameter {name} (shape {_shape(tensor)}) is missing"
            )
        if _shape(state[name]) != _shape(tensor):
            raise WeightsMismatchError(
                f"weights do not fit architecture {arch!r}: parameter {name} has shape {_shape(state[name])} "
                f"in the file but {_shape(tensor)} in the network"
            )
    for name, value in state.items():
        if name not in expected and not name.endswith(UNTRACKED_SUFFIX):
            raise WeightsMismatchError(
                f"weights do not fit architecture {arch!r}: the file has parameter {name} "
                f"(shape {_shape(value)}) that the network lacks"
            )


def apply_state(
    network: nn.Module, state: Mapping[str, ArrayLike], arch: str, may_be_missing: Iterable[str] = ()
) -> None:
    """Check then copy ``state`` into ``network`` (float32 etc. cast to the parameter dtype)."""
    check_state(network, state, arch, may_be_missing)
    targets = network.state_dict()
    with torch.no_grad():
        for name, value in state.items():
            if name in targets and not name.endswith(UNTRACKED_SUFFIX):
                targets[name].copy_(_as_tensor(value, targets[name]))
