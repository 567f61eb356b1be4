"""Bringing a click session to a wanted list of clicks with as few forward passes as possible.

A web worker receives the whole click list the annotator has now (after any undo, redo or superseded clicks)
and the session as last computed. Going back uses the undo history (no forward pass), going forward along
the redo history too; new clicks are added together in one forward pass, so clicks superseded while a
previous one was computing cost nothing. Without usable history (state rebuilt after a loss) the clicks are
replayed one by one, which reproduces the original predictions.
"""

from __future__ import annotations

from collections.abc import Sequence

from ml.inference.clicks import Click
from ml.inference.predictor import ClickSession


def _is_prefix(short: Sequence[Click], long: Sequence[Click]) -> bool:
    return len(short) <= len(long) and tuple(long[: len(short)]) == tuple(short)


def goto_clicks(session: ClickSession, wanted: Sequence[Click], *, replay: bool = False) -> int:
    """Make ``session.clicks == wanted``; return the number of prediction steps run.

    ``replay``: add missing clicks one at a time (each with its own forward pass), as when rebuilding.
    """
    wanted = tuple(wanted)
    while not _is_prefix(session.clicks, wanted) and session.can_undo:
        session.undo()
    if not _is_prefix(session.clicks, wanted):
        session.reset()
    while session.can_redo and tuple(session.clicks) != wanted and _is_prefix(session.next_redo_clicks, wanted):
        session.redo()
    missing = wanted[len(session.clicks) :]
    if not missing:
        return 0
    if replay:
        for click in missing:
            session.add_click(click.x, click.y, click.positive)
        return len(missing)
    session.add_clicks(missing)
    return 1
