"""Validating the clicks an object's shape was computed from (stored with it, so the object can be re-opened).

The same rules as the websocket's clicks (`backend.interactive.protocol`): at most `MAX_CLICKS`, finite pixel-index
coordinates inside the image (`ml.inference.clicks.check_inside`); stored as ``{x, y, positive}``.
"""

import math
from typing import Any

from backend.common.errors import InvalidInput
from backend.interactive.protocol import MAX_CLICKS
from ml.inference.clicks import Click, check_inside


def _coordinate(item: dict, key: str, index: int) -> float:
    value = item.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidInput(f"click {index}: '{key}' must be a finite number.", code="bad_clicks")
    return float(value)


def _check_click(item: Any, index: int, width: int, height: int) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidInput(f"click {index} must be an object {{x, y, positive}}.", code="bad_clicks")
    positive = item.get("positive", True)
    if not isinstance(positive, bool):
        raise InvalidInput(f"click {index}: 'positive' must be true or false.", code="bad_clicks")
    click = Click(_coordinate(item, "x", index), _coordinate(item, "y", index), positive)
    try:
        check_inside(click, height, width)
    except ValueError as exc:
        raise InvalidInput(
            f"click {index} ({click.x}, {click.y}) lies outside the {width}×{height} image.",
            code="click_outside_image",
            details={"index": index},
        ) from exc
    return {"x": click.x, "y": click.y, "positive": click.positive}


def check_clicks(clicks: Any, width: int, height: int) -> list[dict[str, Any]]:
    """The clicks as stored, oldest first (``[]``: none, as for drawn or imported objects); InvalidInput if bad."""
    if not isinstance(clicks, list):
        raise InvalidInput("clicks must be a list of {x, y, positive}.", code="bad_clicks")
    if len(clicks) > MAX_CLICKS:
        raise InvalidInput(
            f"An object keeps at most {MAX_CLICKS} clicks; these are {len(clicks)}.",
            code="too_many_clicks",
            details={"limit": MAX_CLICKS, "clicks": len(clicks)},
        )
    return [_check_click(item, i, width, height) for i, item in enumerate(clicks)]
