"""A minimal protobuf wire-format reader (proto2/proto3), enough to decode Paddle's ProgramDesc.

Messages are decoded generically into ``{field_number: [raw values]}``; the caller knows the schema and
interprets each raw value (varint ``int``, length-delimited ``bytes``, or fixed-width ``bytes``).
"""

from __future__ import annotations

import struct
from collections import defaultdict

Raw = int | bytes
Fields = dict[int, list[Raw]]

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


class ProtobufError(ValueError):
    """Raised when bytes are not a well-formed protobuf message."""


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode one base-128 varint at ``pos``; return (value, new position)."""
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ProtobufError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ProtobufError("varint too long")


def parse_message(buf: bytes) -> Fields:
    """Split a serialized message into its fields, keeping repeated values in order."""
    fields: Fields = defaultdict(list)
    pos = 0
    end = len(buf)
    while pos < end:
        key, pos = read_varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            value, pos = read_varint(buf, pos)
            fields[number].append(value)
        elif wire_type == _LENGTH:
            size, pos = read_varint(buf, pos)
            if pos + size > end:
                raise ProtobufError("truncated length-delimited field")
            fields[number].append(buf[pos : pos + size])
            pos += size
        elif wire_type == _FIXED64:
            fields[number].append(buf[pos : pos + 8])
            pos += 8
        elif wire_type == _FIXED32:
            fields[number].append(buf[pos : pos + 4])
            pos += 4
        else:
            raise ProtobufError(f"unsupported wire type {wire_type} for field {number}")
    if pos != end:
        raise ProtobufError("message overruns its buffer")
    return fields


def to_signed64(value: int) -> int:
    """Interpret a varint as a two's-complement int64 (protobuf int32/int64 encoding)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def varints(values: list[Raw]) -> list[int]:
    """Decode a repeated integer field that may be stored packed or unpacked."""
    out: list[int] = []
    for value in values:
        if isinstance(value, int):
            out.append(to_signed64(value))
            continue
        pos = 0
        while pos < len(value):
            item, pos = read_varint(value, pos)
            out.append(to_signed64(item))
    return out


def floats(values: list[Raw], double: bool = False) -> list[float]:
    """Decode a repeated float/double field that may be stored packed or unpacked."""
    fmt, width = ("<d", 8) if double else ("<f", 4)
    out: list[float] = []
    for value in values:
        if isinstance(value, int):
            raise ProtobufError("expected fixed-width float data")
        out.extend(item[0] for item in struct.iter_unpack(fmt, value))
        if len(value) % width:
            raise ProtobufError("truncated float data")
    return out


def string(value: Raw) -> str:
    """Decode a length-delimited UTF-8 string."""
    if isinstance(value, int):
        raise ProtobufError("expected a string, got a varint")
    return value.decode("utf-8")
