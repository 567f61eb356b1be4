"""Waiting for something another process does: poll a condition until a deadline, never sleep-and-hope."""

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float,
    what: str,
    details: Callable[[], str] = lambda: "",
    every: float = 0.05,
) -> T:
    """The first truthy value of ``condition()``, polled every ``every`` seconds for at most ``timeout`` seconds.

    On the deadline: AssertionError "waited N s for <what>" followed by ``details()`` (a log tail, the last state),
    computed only then. ``condition`` may raise to give up early (a process it waits on has exited)."""
    start = time.monotonic()
    while True:
        value = condition()
        if value:
            return value
        waited = time.monotonic() - start
        if waited > timeout:
            extra = details()
            raise AssertionError(f"waited {waited:.1f} s for {what}" + (f"\n{extra}" if extra else ""))
        time.sleep(every)
