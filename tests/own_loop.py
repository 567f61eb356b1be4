"""Running a coroutine from a synchronous test, whatever the test thread already runs."""

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def run_in_own_loop(coroutine_function: Callable[[], Awaitable[T]]) -> T:
    """``coroutine_function()`` run to completion on a fresh event loop in a thread of its own.

    Playwright's sync API (the browser tests) leaves an event loop running in the main thread, where asyncio.run
    and async_to_sync refuse to start; a thread of its own has none. ORM calls made from the coroutine go through
    ``database_sync_to_async``, which closes their connections again.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-loop") as pool:
        return pool.submit(lambda: asyncio.run(coroutine_function())).result()
