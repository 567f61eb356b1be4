"""Read Paddle's static inference format (``.pdmodel`` ProgramDesc + ``.pdiparams`` tensor stream).

No Paddle or generated protobuf code is needed: the few messages used are decoded with the wire-format
reader in :mod:`ml.weights.protobuf`, following the field numbers of Paddle's ``framework.proto``
(see ``shared/docs/paddle-static-format.md``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ml.weights.protobuf import Fields, ProtobufError, floats, parse_message, string, varints

# VarType.Type enum values of the tensor element types.
_DTYPES: dict[int, np.dtype] = {
    0: np.dtype(np.bool_),
    1: np.dtype("<i2"),
    2: np.dtype("<i4"),
    3: np.dtype("<i8"),
    4: np.dtype("<f2"),
    5: np.dtype("<f4"),
    6: np.dtype("<f8"),
    20: np.dtype(np.uint8),
    21: np.dtype(np.int8),
}
_SKIPPED_VARS = {"feed", "fetch"}


class StaticFormatError(ValueError):
    """Raised when a ``.pdmodel``/``.pdiparams`` pair is malformed or inconsistent."""


@dataclass(frozen=True)
class VarDesc:
    """A program variable; ``dims`` and ``dtype`` are only set for dense tensors."""

    name: str
    persistable: bool
    dtype: int | None
    dims: tuple[int, ...] | None


@dataclass(frozen=True)
class OpDesc:
    """One operator: slot name -> variable names for inputs and outputs, plus decoded attributes."""

    type: str
    inputs: dict[str, list[str]]
    outputs: dict[str, list[str]]
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Program:
    """Block 0 of a ProgramDesc: its variables and its operators in execution order."""

    vars: dict[str, VarDesc]
    ops: list[OpDesc]

    def persistable_names(self) -> list[str]:
        """Names of the persistable tensors, in the order they are stored in ``.pdiparams``."""
        names = [v.name for v in self.vars.values() if v.persistable and v.name not in _SKIPPED_VARS]
        return sorted(names)


def _first(fields: Fields, number: int) -> Any:
    values = fields.get(number)
    return values[0] if values else None


def _tensor_desc(buf: bytes) -> tuple[int, tuple[int, ...]]:
    fields = parse_message(buf)
    return int(_first(fields, 1)), tuple(varints(fields.get(2, [])))


def _var_desc(buf: bytes) -> VarDesc:
    fields = parse_message(buf)
    dtype: int | None = None
    dims: tuple[int, ...] | None = None
    var_type = _first(fields, 2)
    if isinstance(var_type, bytes):
        dense = _first(parse_message(var_type), 3)
        if isinstance(dense, bytes):
            tensor = _first(parse_message(dense), 1)
            if isinstance(tensor, bytes):
                dtype, dims = _tensor_desc(tensor)
    return VarDesc(string(_first(fields, 1)), bool(_first(fields, 3) or 0), dtype, dims)


def _slots(values: list[Any]) -> dict[str, list[str]]:
    slots: dict[str, list[str]] = {}
    for raw in values:
        fields = parse_message(raw)
        slots[string(_first(fields, 1))] = [string(a) for a in fields.get(2, [])]
    return slots


def _attr_value(fields: Fields) -> Any:
    """Decode whichever value field of an ``OpDesc.Attr`` is present."""
    scalar_ints = {3: "i", 10: "b", 12: "block_idx", 13: "l"}
    for number in scalar_ints:
        if number in fields:
            return varints(fields[number])[0]
    if 4 in fields:
        return floats(fields[4])[0]
    if 19 in fields:
        return floats(fields[19], double=True)[0]
    if 5 in fields:
        return string(fields[5][0])
    for number in (6, 11, 15):
        if number in fields:
            return varints(fields[number])
    if 7 in fields:
        return floats(fields[7])
    if 16 in fields:
        return floats(fields[16], double=True)
    if 8 in fields:
        return [string(s) for s in fields[8]]
    return None


def _op_desc(buf: bytes) -> OpDesc:
    fields = parse_message(buf)
    attrs = {}
    for raw in fields.get(4, []):
        attr = parse_message(raw)
        attrs[string(_first(attr, 1))] = _attr_value(attr)
    return OpDesc(string(_first(fields, 3)), _slots(fields.get(1, [])), _slots(fields.get(2, [])), attrs)


def parse_program(data: bytes) -> Program:
    """Decode block 0 of a serialized ProgramDesc."""
    try:
        blocks = parse_message(data).get(1, [])
        if not blocks:
            raise StaticFormatError("the program has no blocks")
        block = parse_message(blocks[0])
        variables = [_var_desc(raw) for raw in block.get(3, [])]
        ops = [_op_desc(raw) for raw in block.get(4, [])]
    except ProtobufError as exc:
        raise StaticFormatError(f"not a Paddle ProgramDesc: {exc}") from exc
    return Program({v.name: v for v in variables}, ops)


def read_program(path: Path) -> Program:
    """Read and decode a ``.pdmodel`` file."""
    return parse_program(Path(path).read_bytes())


def _read_record(buf: bytes, pos: int) -> tuple[np.ndarray, int]:
    """Decode one LoDTensor record (version, LoD, tensor version, TensorDesc, data)."""
    try:
        (version,) = struct.unpack_from("<I", buf, pos)
        (lod_levels,) = struct.unpack_from("<Q", buf, pos + 4)
        pos += 12
        for _ in range(lod_levels):
            (size,) = struct.unpack_from("<Q", buf, pos)
            pos += 8 + size
        tensor_version, desc_size = struct.unpack_from("<Ii", buf, pos)
        pos += 8
    except struct.error as exc:
        raise StaticFormatError("truncated .pdiparams record header") from exc
    if version != 0 or tensor_version != 0:
        raise StaticFormatError(f"unsupported tensor record version {version}/{tensor_version}")
    dtype_code, dims = _tensor_desc(buf[pos : pos + desc_size])
    pos += desc_size
    if dtype_code not in _DTYPES:
        raise StaticFormatError(f"unsupported tensor data type {dtype_code}")
    dtype = _DTYPES[dtype_code]
    count = int(np.prod(dims, dtype=np.int64))
    nbytes = count * dtype.itemsize
    if pos + nbytes > len(buf):
        raise StaticFormatError("truncated .pdiparams tensor data")
    array = np.frombuffer(buf, dtype=dtype, count=count, offset=pos).reshape(dims).copy()
    return array, pos + nbytes


def read_params(data: bytes, names: list[str]) -> dict[str, np.ndarray]:
    """Decode a ``.pdiparams`` stream holding ``names`` (already in stored order); demand exact length."""
    tensors: dict[str, np.ndarray] = {}
    pos = 0
    for name in names:
        tensors[name], pos = _read_record(data, pos)
    if pos != len(data):
        raise StaticFormatError(f".pdiparams has {len(data) - pos} unread bytes after {len(names)} tensors")
    return tensors


@dataclass(frozen=True)
class StaticModel:
    """A decoded static model: its program and its persistable tensors by auto-generated name."""

    program: Program
    tensors: dict[str, np.ndarray]


def params_path_for(model_path: Path) -> Path:
    """The ``.pdiparams`` file beside a ``.pdmodel`` file."""
    return Path(model_path).with_suffix(".pdiparams")


def read_static_model(model_path: Path, params_path: Path | None = None) -> StaticModel:
    """Read a ``.pdmodel`` and its ``.pdiparams``, checking every tensor shape against the program."""
    program = read_program(model_path)
    params_path = params_path or params_path_for(model_path)
    if not params_path.exists():
        raise FileNotFoundError(f"{params_path} (the .pdiparams beside {model_path}) does not exist")
    tensors = read_params(params_path.read_bytes(), program.persistable_names())
    for name, array in tensors.items():
        dims = program.vars[name].dims
        if dims is not None and tuple(dims) != array.shape:
            raise StaticFormatError(f"{name}: program says {dims}, .pdiparams holds {array.shape}")
    return StaticModel(program, tensors)
