"""The websocket protocol of interactive annotation: validating what clients send.

Small pure parsers with stable error codes (``bad_message``, ``click_outside_image``, ``stale_seq``); they return
the types of ``ml`` (:class:`~ml.inference.clicks.Click`, :class:`~ml.postprocess.MaskOptions`) and apply its
rules (``check_inside``, the options' ranges). See docs/interactive-protocol.md for the messages and replies.
"""

import math
from dataclasses import replace
from typing import Any

from ml.inference.clicks import Click, check_inside
from ml.postprocess import MaskOptions
from ml.postprocess.shape import THRESHOLD_RANGE, TOLERANCE_RANGE

MAX_CLICKS = 100


class ProtocolError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _number(message: dict, key: str, bounds: tuple[float, float] | None = None) -> float:
    value = message.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ProtocolError("bad_message", f"'{key}' must be a number.")
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise ProtocolError("bad_message", f"'{key}' must be between {bounds[0]} and {bounds[1]}.")
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


def parse_click(item: Any, width: int, height: int) -> Click:
    """``{x, y, positive}`` in pixel-index coordinates of the image (x column, y row); ``positive`` defaults
    to true. Outside the image is ``click_outside_image``."""
    if not isinstance(item, dict):
        raise ProtocolError("bad_message", "A click is an object {x, y, positive}.")
    click = Click(_number(item, "x"), _number(item, "y"), _bool(item, "positive", True))
    try:
        check_inside(click, height, width)
    except ValueError as exc:
        raise ProtocolError(
            "click_outside_image", f"Click ({click.x}, {click.y}) is outside the {width}×{height} image."
        ) from exc
    return click


def parse_clicks(value: Any, width: int, height: int) -> tuple[Click, ...]:
    """The whole wanted click list, oldest first (``[]``: no clicks)."""
    if not isinstance(value, list) or len(value) > MAX_CLICKS:
        raise ProtocolError("bad_message", f"'clicks' must be a list of at most {MAX_CLICKS} clicks.")
    return tuple(parse_click(item, width, height) for item in value)


def parse_options(message: dict, current: MaskOptions) -> MaskOptions:
    """``current`` with the options the message gives."""
    changes: dict[str, Any] = {}
    if "threshold" in message:
        changes["threshold"] = _number(message, "threshold", THRESHOLD_RANGE)
    if "largest_component" in message:
        changes["largest_component"] = _bool(message, "largest_component")
    if "tolerance" in message:
        changes["tolerance"] = _number(message, "tolerance", TOLERANCE_RANGE)
    return replace(current, **changes)


def parse_seq(message: dict, last_seq: int) -> int:
    seq = _int(message, "seq")
    if seq <= last_seq:
        raise ProtocolError("stale_seq", f"seq {seq} is not newer than {last_seq}.")
    return seq


def parse_label(message: dict) -> int:
    return _int(message, "label")


def parse_slice(message: dict, slices: int) -> int:
    """The slice a `start` message's object lies on (0 when not given)."""
    if "slice" not in message:
        return 0
    index = _int(message, "slice")
    if index >= slices:
        raise ProtocolError("bad_slice", f"Slice {index} does not exist: the image has {slices} slice(s), from 0.")
    return index
