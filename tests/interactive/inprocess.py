"""The annotation websocket in this process: Channels' WebsocketCommunicator on the real ASGI app, the in-process
inference backend and the real model — no daphne, no Redis, no worker (the embedded default's path)."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from channels.testing import WebsocketCommunicator

ORIGIN = "http://testserver"


class Socket:
    """One client connection; every reply is kept, and `until` waits for the one a test needs."""

    def __init__(self, image_id: int, token: str | None, origin: str = ORIGIN) -> None:
        from backend.config.asgi import application

        query = f"?token={token}" if token else ""
        self.communicator = WebsocketCommunicator(
            application,
            f"/ws/images/{image_id}/annotate/{query}",
            headers=[(b"host", b"testserver"), (b"origin", origin.encode())],
        )
        self.replies: list[dict[str, Any]] = []

    async def open(self, timeout: float = 30) -> dict[str, Any] | None:
        """The first reply (`ready`, or the error before the server closes); None when the handshake was refused."""
        connected, _ = await self.communicator.connect(timeout=timeout)
        return await self.recv(timeout) if connected else None

    async def send(self, **message: Any) -> None:
        await self.communicator.send_to(text_data=json.dumps(message))

    async def recv(self, timeout: float = 60) -> dict[str, Any]:
        reply = await self.communicator.receive_json_from(timeout=timeout)
        self.replies.append(reply)
        return reply

    async def until(self, *kinds: str, timeout: float = 60) -> dict[str, Any]:
        """The next reply of one of `kinds` (or an error), skipping others (e.g. `superseded`)."""
        while True:
            reply = await self.recv(timeout)
            if reply["type"] in kinds or reply["type"] == "error":
                return reply

    async def answer(self, seq: int, timeout: float = 60) -> dict[str, Any]:
        """What answers request ``seq``: its mask, its error or its `superseded`."""
        while True:
            reply = await self.recv(timeout)
            if reply.get("seq") == seq and reply["type"] in {"mask", "error", "superseded"}:
                return reply

    async def close_code(self, timeout: float = 10) -> int:
        output = await self.communicator.receive_output(timeout=timeout)
        assert output["type"] == "websocket.close", output
        return output.get("code", 1000)

    async def close(self) -> None:
        await self.communicator.disconnect()


def outcome(reply: dict[str, Any]) -> str:
    """A reply as one word for matrices: its type, or `error:<code>`."""
    return f"error:{reply['code']}" if reply["type"] == "error" else reply["type"]


@contextmanager
def inference_thread_busy() -> Iterator[None]:
    """The in-process inference thread held busy until the block ends: jobs submitted meanwhile wait for it."""
    from backend.interactive.jobs import click_jobs

    release = threading.Event()
    click_jobs.in_thread(release.wait)
    try:
        yield
    finally:
        release.set()
