"""Client text bound for a database column: a 400 naming the field, never a database error (a 500)."""

from backend.common.errors import InvalidInput


def checked_text(value: str, *, field: str, max_length: int | None = None, strip: bool = False) -> str:
    """``value`` (stripped if asked) when PostgreSQL stores it as given: no NUL, no lone surrogate, short enough."""
    if not isinstance(value, str):
        raise InvalidInput(f"The {field} must be text.", code="bad_text", details={"field": field})
    if strip:
        value = value.strip()
    if "\x00" in value:
        raise InvalidInput(f"The {field} contains a NUL character.", code="bad_text", details={"field": field})
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(
            f"The {field} is not valid Unicode (it has a lone surrogate).", code="bad_text", details={"field": field}
        ) from None
    if max_length is not None and len(value) > max_length:
        raise InvalidInput(
            f"The {field} has {len(value):,} characters; at most {max_length}.",
            code="too_long",
            details={"field": field, "max_length": max_length},
        )
    return value
