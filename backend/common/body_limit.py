"""The largest request body the server takes, refused with 413 before it is read.

Django's ASGI handler spools any body to a temporary file with no total limit, and daphne (through Twisted) reads
a whole body before the application even sees the request, then hands all of it to the application's input
queue in memory. So the limit is enforced twice: in daphne's request, as the body arrives (413 as soon as the
headers declare too much, or as soon as a chunked body passes the limit), and as an ASGI wrapper for any other
server, which answers at once on Content-Length and stops reading a body without one past the limit.

Twisted would also parse every POSTed multipart or form body into its own request.args, all in memory at many
times the body's size, before daphne hands the body on untouched: the daphne request here skips that.

The limit is MAX_UPLOAD_BYTES of files plus DATA_UPLOAD_MAX_MEMORY_SIZE of other fields, plus a little for
multipart boundaries and part headers.
"""

import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

MULTIPART_SLACK_BYTES = 1024 * 1024

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def max_body_bytes() -> int:
    return settings.MAX_UPLOAD_BYTES + (settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) + MULTIPART_SLACK_BYTES


def _refusal(what: str) -> bytes:
    limit = max_body_bytes()
    return json.dumps(
        {
            "error": "body_too_large",
            "detail": f"The request body is {what}, above the limit of {limit:,} bytes "
            "(MAX_UPLOAD_BYTES of files plus DATA_UPLOAD_MAX_MEMORY_SIZE of other fields); nothing was read.",
        }
    ).encode()


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # Django answers a malformed header itself
    return None


class BodyLimit:
    """ASGI middleware for the "http" scope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = max_body_bytes()
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(send, _refusal(f"{declared:,} bytes"))
            return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await self._refuse(send, _refusal(f"more than {limit:,} bytes"))
            # Django stops reading at a disconnect and sends nothing more.
            return {"type": "http.disconnect"} if refused else message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, limited_receive, guarded_send)

    @staticmethod
    async def _refuse(send: Send, body: bytes) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _daphne_request_class(base: type) -> type:
    class BodyLimitedRequest(base):
        """daphne's request, refusing a body while it arrives instead of after the whole of it is read."""

        body_limited = True
        _refused = False
        _body_bytes = 0

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            # Twisted parses a POSTed multipart or form body into request.args, in memory and at about twelve
            # times its size (measured: +2.3 GB for a 200 MB file), on any URL; daphne never reads request.args.
            self._parsePOSTFormSubmission = False

        def gotLength(self, length: int | None) -> None:
            if length is not None and length > max_body_bytes():
                self._refuse(f"{length:,} bytes")
                length = 0
            super().gotLength(length)

        def handleContentChunk(self, data: bytes) -> None:
            if self._refused:
                return
            self._body_bytes += len(data)
            if self._body_bytes > max_body_bytes():
                self.content.close()
                self._refuse(f"more than {max_body_bytes():,} bytes")
                return
            super().handleContentChunk(data)

        def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
            if not self._refused:
                super().requestReceived(command, path, version)

        def _refuse(self, what: str) -> None:
            self._refused = True
            self.requestHeaders.removeHeader(b"Expect")  # no "100 Continue" after the refusal
            body = _refusal(what)
            head = (
                b"HTTP/1.1 413 Request Entity Too Large\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
            )
            self.channel.transport.write(head + body)
            self.channel.loseConnection()

    return BodyLimitedRequest


def _guard_daphne() -> None:
    """Inside a daphne process (its CLI imports the server before the application), let its requests refuse
    over-long bodies as they arrive and leave form parsing to Django; daphne has no setting for either."""
    protocol = sys.modules.get("daphne.http_protocol")
    if protocol is not None and not getattr(protocol.WebRequest, "body_limited", False):
        protocol.WebRequest = _daphne_request_class(protocol.WebRequest)


def limit_request_body(app: ASGIApp) -> ASGIApp:
    """The "http" application behind the body limit (and, under daphne, its requests refusing early)."""
    _guard_daphne()
    return BodyLimit(app)
