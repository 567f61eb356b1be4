"""Each person's fixed colour (presence initials, the outline of the objects they hold): one of twelve."""

from typing import Any

COLOURS = (
    "#e6194b",  # red
    "#3cb44b",  # green
    "#4363d8",  # blue
    "#f58231",  # orange
    "#911eb4",  # purple
    "#42d4f4",  # cyan
    "#f032e6",  # magenta
    "#9a6324",  # brown
    "#469990",  # teal
    "#808000",  # olive
    "#000075",  # navy
    "#800000",  # maroon
)


def colour_of(user_id: int) -> str:
    return COLOURS[user_id % len(COLOURS)]


def person(user_id: int, name: str) -> dict[str, Any]:
    """The Person of the protocol (docs/interactive-protocol.md): id, name, colour."""
    return {"id": user_id, "name": name, "colour": colour_of(user_id)}


def person_of(user: Any) -> dict[str, Any] | None:
    """The Person of a user (None for no user)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return person(user.pk, user.get_username())
