"""The naming rule between Paddle structured names and this package's torch names.

Module paths are identical; only these parameter/buffer suffixes differ:

=====================  ======================
Paddle                 torch
=====================  ======================
``<bn>._mean``         ``<bn>.running_mean``
``<bn>._variance``     ``<bn>.running_var``
``<prelu>._weight``    ``<prelu>.weight``
=====================  ======================

torch's ``num_batches_tracked`` has no Paddle counterpart (it only matters for training with
``momentum=None``). The networks have no Linear layers, so no transposes are needed.
"""

from __future__ import annotations

_PADDLE_TO_TORCH = {"_mean": "running_mean", "_variance": "running_var", "_weight": "weight"}
_TORCH_TO_PADDLE = {"running_mean": "_mean", "running_var": "_variance"}

UNTRACKED_SUFFIX = "num_batches_tracked"


def paddle_to_torch(name: str) -> str:
    """Map a Paddle structured name to the torch ``state_dict`` key."""
    module, _, leaf = name.rpartition(".")
    leaf = _PADDLE_TO_TORCH.get(leaf, leaf)
    return f"{module}.{leaf}" if module else leaf


def torch_to_paddle(name: str, is_prelu: bool = False) -> str:
    """Map a torch ``state_dict`` key back to the Paddle structured name."""
    module, _, leaf = name.rpartition(".")
    leaf = "_weight" if is_prelu and leaf == "weight" else _TORCH_TO_PADDLE.get(leaf, leaf)
    return f"{module}.{leaf}" if module else leaf
