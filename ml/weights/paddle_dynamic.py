"""Read Paddle dynamic-graph ``.pdparams`` files (``paddle.save(state_dict)``) without Paddle.

The file is a pickle of ``{structured name: numpy array}`` plus ``StructuredToParameterName@@``. A
restricted unpickler only resolves the numpy reconstruction helpers, so a hostile file cannot run code.
"""

from __future__ import annotations

import io
import pickle
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ml.weights.errors import WeightsError
from ml.weights.names import paddle_to_torch

NAME_TABLE_KEY = "StructuredToParameterName@@"

_ALLOWED_GLOBALS: dict[tuple[str, str], Any] = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("collections", "OrderedDict"): OrderedDict,
}


def _numpy_reconstruct() -> Any:
    try:
        from numpy._core.multiarray import _reconstruct  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef]
    return _reconstruct


def _numpy_scalar() -> Any:
    try:
        from numpy._core.multiarray import scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import scalar  # type: ignore[no-redef]
    return scalar


_ALLOWED_GLOBALS.update(
    {
        ("numpy.core.multiarray", "_reconstruct"): _numpy_reconstruct(),
        ("numpy._core.multiarray", "_reconstruct"): _numpy_reconstruct(),
        ("numpy.core.multiarray", "scalar"): _numpy_scalar(),
        ("numpy._core.multiarray", "scalar"): _numpy_scalar(),
    }
)


class _RestrictedUnpickler(pickle.Unpickler):
    """Only numpy arrays, dtypes and plain containers may be rebuilt."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a .pdparams file") from None


def read_pdparams(path: Path) -> dict[str, np.ndarray]:
    """Return ``{Paddle structured name: array}``, without the name table."""
    try:
        data = _RestrictedUnpickler(io.BytesIO(Path(path).read_bytes())).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise WeightsError(f"{path} is not a readable .pdparams file: {exc}") from exc
    if not isinstance(data, dict):
        raise WeightsError(f"{path} does not hold a state dict (got {type(data).__name__})")
    arrays = {}
    for name, value in data.items():
        if name == NAME_TABLE_KEY:
            continue
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], np.ndarray):
            value = value[1]  # old Paddle versions stored (name, array) pairs
        if not isinstance(value, np.ndarray):
            raise WeightsError(f"{path}: entry {name!r} is a {type(value).__name__}, not an array")
        arrays[name] = value
    return arrays


def pdparams_to_torch(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Rename Paddle structured names to torch ``state_dict`` keys (see :mod:`ml.weights.names`)."""
    return {paddle_to_torch(name): value for name, value in arrays.items()}
