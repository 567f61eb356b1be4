"""The per-object click state: the known states a session returns to and what a web worker stores between requests.

A :class:`Snapshot` is everything a :class:`~ml.inference.predictor.ClickSession` needs to continue:
the clicks, the full-resolution probability of the last prediction (which is also the RITM
previous-mask channel), the full-resolution previous edge probability (EdgeFlow; ``None`` otherwise)
and the kept zoom box. Its arrays are read-only and shared, never modified in place.

``ClickSession.export_state``/``load_state`` turn a session state into plain dicts of lists and float32
arrays; :func:`pack_state`/:func:`unpack_state` turn such a dict into bytes (an ``.npz`` without pickles),
and :func:`encode_state`/:func:`decode_state` into the compact bytes kept in Redis.
"""

from __future__ import annotations

import io
import json
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml.inference.clicks import Click
from ml.inference.zoom_in import Box

STATE_VERSION = 2
ENCODED_KNOWN_LIMIT = 8  # known states kept by encode_state, the current one included


def frozen(array: np.ndarray) -> np.ndarray:
    """``array`` as a read-only float32 C-contiguous array (converted only if needed, never aliased by us)."""
    out = np.ascontiguousarray(array, dtype=np.float32)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class Snapshot:
    """The session state after some clicks."""

    clicks: tuple[Click, ...]
    probability: np.ndarray
    edge: np.ndarray | None
    zoom_box: Box | None

    @classmethod
    def empty(cls, height: int, width: int, with_edge: bool) -> Snapshot:
        """The state before the first click: zero previous mask and edge, no zoom box."""
        zeros = frozen(np.zeros((height, width), dtype=np.float32))
        return cls((), zeros, zeros if with_edge else None, None)

    def to_dict(self) -> dict[str, Any]:
        """``clicks`` as ``[[x, y, positive], ...]``, ``probability``/``edge`` H×W float32, ``zoom_box``.

        The arrays are the snapshot's own read-only arrays (no copy).
        """
        return {
            "clicks": [click.as_list() for click in self.clicks],
            "probability": self.probability,
            "edge": self.edge,
            "zoom_box": None if self.zoom_box is None else [int(v) for v in self.zoom_box],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], shape: tuple[int, int], with_edge: bool) -> Snapshot:
        """Inverse of :meth:`to_dict`, validated against the image ``shape`` and the model's channel."""
        probability = _map(data["probability"], shape, "probability")
        edge = data.get("edge")
        if with_edge:
            edge = np.zeros(shape, np.float32) if edge is None else _map(edge, shape, "edge")
        elif edge is not None:
            raise ValueError("edge given for a model that takes the previous mask")
        box = data.get("zoom_box")
        zoom_box = None if box is None else _box(box, shape)
        clicks = tuple(Click.from_list(row) for row in data["clicks"])
        return cls(clicks, frozen(probability), None if edge is None else frozen(edge), zoom_box)


def _map(values: Any, shape: tuple[int, int], name: str) -> np.ndarray:
    array = np.array(values, dtype=np.float32)  # a private copy: the caller may reuse its arrays
    if array.shape != tuple(shape):
        raise ValueError(f"{name} has shape {array.shape}, the image is {tuple(shape)}")
    return array


def _box(values: Any, shape: tuple[int, int]) -> Box:
    rmin, rmax, cmin, cmax = (int(v) for v in values)
    if not (0 <= rmin <= rmax < shape[0] and 0 <= cmin <= cmax < shape[1]):
        raise ValueError(f"zoom_box {values} does not fit an image of shape {tuple(shape)}")
    return rmin, rmax, cmin, cmax


def encode_state(state: dict[str, Any]) -> bytes:
    """Compact bytes of an exported state: float16 maps, at most :data:`ENCODED_KNOWN_LIMIT` known states
    (the current one always, then the most recently used), zlib level 1.

    Probability and edge maps are mostly saturated, so they compress to a few percent of their size; float16
    keeps the fed-back previous mask within 5e-4 of the computed one.
    """
    trimmed = dict(state)
    if "known" in trimmed:
        keep = ENCODED_KNOWN_LIMIT - 1  # the current state is stored at the top level
        trimmed["known"] = trimmed["known"][-keep:] if keep else []
    return zlib.compress(pack_state(_cast(trimmed, np.float32, np.float16)), 1)


def decode_state(data: bytes) -> dict[str, Any]:
    """Inverse of :func:`encode_state`, maps back as float32."""
    return _cast(unpack_state(zlib.decompress(data)), np.float16, np.float32)


def _cast(value: Any, source: type, target: type) -> Any:
    if isinstance(value, np.ndarray) and value.dtype == source:
        return value.astype(target)
    if isinstance(value, dict):
        return {key: _cast(item, source, target) for key, item in value.items()}
    if isinstance(value, list):
        return [_cast(item, source, target) for item in value]
    return value


def pack_state(state: dict[str, Any]) -> bytes:
    """Serialise an exported state (nested dicts/lists of JSON values and NumPy arrays) to ``.npz`` bytes."""
    arrays: dict[str, np.ndarray] = {}
    meta = _strip_arrays(state, "", arrays)
    buffer = io.BytesIO()
    np.savez(buffer, __meta__=np.array(json.dumps(meta)), **arrays)
    return buffer.getvalue()


def unpack_state(data: bytes) -> dict[str, Any]:
    """Inverse of :func:`pack_state` (no pickles are loaded)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    meta = json.loads(str(arrays.pop("__meta__")))
    return _restore_arrays(meta, arrays)


def _strip_arrays(value: Any, path: str, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, np.ndarray):
        arrays[path] = value
        return {"__array__": path}
    if isinstance(value, dict):
        return {key: _strip_arrays(item, f"{path}/{key}", arrays) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_strip_arrays(item, f"{path}/{index}", arrays) for index, item in enumerate(value)]
    return value


def _restore_arrays(value: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return arrays[value["__array__"]]
        return {key: _restore_arrays(item, arrays) for key, item in value.items()}
    if isinstance(value, list):
        return [_restore_arrays(item, arrays) for item in value]
    return value
