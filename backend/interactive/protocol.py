"""The websocket protocol of interactive annotation: validating what clients send.

See docs/interactive-protocol.md for the messages and replies.
"""

import math
from dataclasses import dataclass
from typing import Any

MAX_CLICKS = 100


class ProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Options:
    threshold: float = 0.5
    largest_component: bool = True
    tolerance: float = 1.0


@dataclass(frozen=True)
class ClickIn:
    x: float
    y: float
    positive: bool

    def as_list(self) -> list:
        return [self.x, self.y, int(self.positive)]


def _number(message: dict, key: str, *, low: float | None = None, high: float | None = None) -> float:
    value = message.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ProtocolError("bad_message", f"'{key}' must be a number.")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ProtocolError("bad_message", f"'{key}' must be between {low} and {high}.")
    return float(value)


def _int(message: dict, key: str) -> int:
    value = message.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError("bad_message", f"'{key}' must be a non-negative integer.")
    return value


def _bool(message: dict, key: str, default: bool | None = None) -> bool:
    value = message.get(key, default)
    if not isinstance(value, bool):
        raise ProtocolError("bad_message", f"'{key}' must be true or false.")
    return value


def parse_click(message: dict, width: int, height: int) -> ClickIn:
    """A click in pixel-index coordinates (x column, y row); outside the image is an error."""
    x, y = _number(message, "x"), _number(message, "y")
    if not (0 <= x <= width - 1 and 0 <= y <= height - 1):
        raise ProtocolError("click_outside_image", f"Click ({x}, {y}) is outside the {width}×{height} image.")
    return ClickIn(x, y, _bool(message, "positive", True))


def parse_clicks(value: Any, width: int, height: int) -> list[ClickIn]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_CLICKS:
        raise ProtocolError("bad_message", f"'clicks' must be a list of at most {MAX_CLICKS} clicks.")
    return [parse_click(item if isinstance(item, dict) else {}, width, height) for item in value]


def parse_options(message: dict, current: Options) -> Options:
    threshold = _number(message, "threshold", low=0.01, high=0.99) if "threshold" in message else current.threshold
    largest = _bool(message, "largest_component") if "largest_component" in message else current.largest_component
    tolerance = _number(message, "tolerance", low=0.0, high=50.0) if "tolerance" in message else current.tolerance
    return Options(threshold, largest, tolerance)


def parse_seq(message: dict, last_seq: int) -> int:
    seq = _int(message, "seq")
    if seq <= last_seq:
        raise ProtocolError("stale_seq", f"seq {seq} is not newer than {last_seq}.")
    return seq


def parse_label(message: dict) -> int:
    return _int(message, "label")


def parse_object(message: dict) -> int | None:
    """The object a `start` re-segments (with the `version` the change is based on), or ``None`` for a new one."""
    if message.get("object") is None:
        return None
    object_id = _int(message, "object")
    _int(message, "version")
    return object_id


def parse_client_key(message: dict) -> str | None:
    key = message.get("client_key")
    if key is None:
        return None
    if not isinstance(key, str) or not 0 < len(key) <= 64 or not key.isprintable():
        raise ProtocolError("bad_message", "'client_key' is a string of 1 to 64 printable characters.")
    return key
