"""The object being annotated on one connection: the clicks the annotator wants and the job bookkeeping."""

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from backend.interactive.protocol import ClickIn, Options


@dataclass
class ObjectSession:
    label_id: int
    model: str
    object_id: int | None = None  # re-segmenting an existing object
    object_version: int | None = None
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    clicks: list[ClickIn] = field(default_factory=list)
    redo_stack: list[ClickIn] = field(default_factory=list)
    options: Options = field(default_factory=Options)
    started_at: float = field(default_factory=time.monotonic)
    clicks_used: int = 0
    latest_seq: int = 0
    in_flight: int | None = None
    pending: int | None = None
    last_result: dict[str, Any] | None = None
    finish_requested: bool = False
    client_key: str | None = None  # sent with `finish`: a retried save returns the first object

    def add(self, click: ClickIn) -> None:
        self.clicks.append(click)
        self.redo_stack.clear()
        self.clicks_used += 1

    def undo(self) -> bool:
        if not self.clicks:
            return False
        self.redo_stack.append(self.clicks.pop())
        return True

    def redo(self) -> bool:
        if not self.redo_stack:
            return False
        self.clicks.append(self.redo_stack.pop())
        return True

    def reset(self) -> None:
        self.clicks.clear()
        self.redo_stack.clear()

    @property
    def busy(self) -> bool:
        return self.in_flight is not None or self.pending is not None

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started_at
