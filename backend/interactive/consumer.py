"""The websocket of interactive annotation on one image. Protocol: docs/interactive-protocol.md.

Per object, at most one job is in flight and at most one waits; a newer request replaces the waiting one
(its seq is answered `superseded`), so a burst of clicks costs one forward pass, not a queue of them.
"""

import asyncio
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from backend.common.errors import ServiceError
from backend.interactive import protocol
from backend.interactive.auth import credentials_still_valid
from backend.interactive.backends import inference_backend
from backend.interactive.context import ImageContext, Refused, check_object_on_image, editable_image, load_context
from backend.interactive.protocol import ProtocolError
from backend.interactive.ratelimit import TokenBucket
from backend.interactive.saving import save_object
from backend.interactive.session import ObjectSession

log = logging.getLogger(__name__)

SEQUENCED = {"click", "undo", "redo", "reset", "options"}


class AnnotateConsumer(AsyncJsonWebsocketConsumer):
    ctx: ImageContext
    obj: ObjectSession | None = None

    async def connect(self) -> None:
        await self.accept()
        self.bucket = TokenBucket(settings.WS_MAX_MESSAGES_PER_SECOND)
        self.timeouts: dict[int, asyncio.TimerHandle] = {}
        self.last_seq = 0
        self.login_checked_at = time.monotonic()  # the middleware has just authenticated the connection
        image_id = int(self.scope["url_route"]["kwargs"]["image_id"])
        try:
            self.ctx = await database_sync_to_async(load_context)(self.scope["user"], image_id)
        except Refused as refused:
            await self.send_json({"type": "error", "code": refused.code, "message": refused.message})
            await self.close(code=refused.close_code)
            return
        await self.send_json(
            {
                "type": "ready",
                "image": {"id": self.ctx.image_id, "width": self.ctx.width, "height": self.ctx.height},
                "model": self.ctx.default_model,
                "models": list(self.ctx.models),
            }
        )
        image = {"path": self.ctx.path, "sha256": self.ctx.sha256}
        await inference_backend().prepare(self.ctx.default_model, image)

    async def disconnect(self, code: int) -> None:
        for handle in self.timeouts.values():
            handle.cancel()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not hasattr(self, "ctx"):
            return
        if not self.bucket.allow():
            await self.error("rate_limited", "Too many messages; slow down.", content)
            return
        try:
            if not isinstance(content, dict) or not isinstance(content.get("type"), str):
                raise ProtocolError("bad_message", "A message is a JSON object with a 'type'.")
            handler = getattr(self, f"on_{content['type']}", None)
            if handler is None:
                raise ProtocolError("unknown_type", f"Unknown message type {content['type']!r}.")
            if content["type"] in SEQUENCED:
                self.require_object()
                seq = protocol.parse_seq(content, self.last_seq)
                await self.require_edit_right()
                await handler(content, seq)
            else:
                await handler(content)
        except ProtocolError as exc:
            await self.error(exc.code, exc.message, content)

    async def decode_json(self, text_data: str) -> Any:
        try:
            return await super().decode_json(text_data)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to parse
            return None  # answered as bad_message by receive_json

    async def error(self, code: str, message: str, content: Any = None, seq: int | None = None) -> None:
        reply: dict[str, Any] = {"type": "error", "code": code, "message": message}
        if seq is None and isinstance(content, dict) and isinstance(content.get("seq"), int):
            seq = content["seq"]
        if seq is not None:
            reply["seq"] = seq
        await self.send_json(reply)

    async def still_logged_in(self) -> bool:
        """False (after telling the client and closing with 4401) once the login this socket used has ended."""
        if await database_sync_to_async(credentials_still_valid)(self.scope):
            self.login_checked_at = time.monotonic()
            return True
        await self.send_json(
            {"type": "error", "code": "unauthenticated", "message": "Your login has ended; log in again."}
        )
        await self.close(code=4401)
        return False

    async def require_edit_right(self) -> None:
        """Every message that changes the object checks the right to edit the image as it is now (the batch may
        have been submitted or accepted since the socket opened)."""
        try:
            await database_sync_to_async(editable_image)(self.scope["user"], self.ctx.image_id)
        except Refused as refused:
            raise ProtocolError(refused.code, refused.message) from refused

    def require_object(self) -> ObjectSession:
        if self.obj is None:
            raise ProtocolError("no_object", "Start an object first.")
        return self.obj

    # ------------------------------------------------------------------ messages
    async def on_ping(self, content: dict) -> None:
        await self.send_json({"type": "pong", "time": time.time()})

    async def on_start(self, content: dict) -> None:
        label_id = protocol.parse_label(content)
        object_id = protocol.parse_object(content)
        if not await self.still_logged_in():
            return
        try:  # the right to edit is checked again now: the batch may have been submitted since connecting
            self.ctx = await database_sync_to_async(load_context)(self.scope["user"], self.ctx.image_id)
            if object_id is not None:
                await database_sync_to_async(check_object_on_image)(object_id=object_id, image_id=self.ctx.image_id)
        except Refused as refused:
            raise ProtocolError(refused.code, refused.message) from refused
        if label_id not in self.ctx.label_ids:
            raise ProtocolError("unknown_label", f"Label {label_id} does not exist in this project.")
        model = content.get("model") or self.ctx.default_model
        if model not in self.ctx.models:
            raise ProtocolError("unknown_model", f"Model {str(model)[:100]!r} is not available in this project.")
        clicks = protocol.parse_clicks(content.get("clicks"), self.ctx.width, self.ctx.height)
        options = protocol.parse_options(content, protocol.Options())
        self.obj = ObjectSession(label_id, model, object_id, content.get("version"), options=options)
        for click in clicks:
            self.obj.add(click)
        await self.send_json({"type": "started", "session": self.obj.session_id, "model": model, "label": label_id})
        if clicks:
            seq = protocol.parse_seq(content, self.last_seq)
            await self.request(seq)

    async def on_click(self, content: dict, seq: int) -> None:
        self.obj.add(protocol.parse_click(content, self.ctx.width, self.ctx.height))
        await self.request(seq)

    async def on_undo(self, content: dict, seq: int) -> None:
        self.obj.undo()
        await self.request(seq)

    async def on_redo(self, content: dict, seq: int) -> None:
        self.obj.redo()
        await self.request(seq)

    async def on_reset(self, content: dict, seq: int) -> None:
        self.obj.reset()
        await self.request(seq)

    async def on_options(self, content: dict, seq: int) -> None:
        self.obj.options = protocol.parse_options(content, self.obj.options)
        await self.request(seq)

    async def on_cancel(self, content: dict) -> None:
        obj = self.require_object()
        self.obj = None
        await asyncio.to_thread(_forget, obj.session_id)
        await self.send_json({"type": "cancelled", "session": obj.session_id})

    async def on_finish(self, content: dict) -> None:
        obj = self.require_object()
        obj.client_key = protocol.parse_client_key(content)
        if not await self.still_logged_in():
            return
        if obj.busy:
            obj.finish_requested = True  # done when the last job answers (handlers must not block)
            return
        await self.finish(obj)

    async def finish(self, obj: ObjectSession) -> None:
        obj.finish_requested = False
        result = obj.last_result
        if result is None or result.get("seq") != obj.latest_seq or not result.get("ok"):
            await self.error("nothing_to_save", "The last mask was not computed; click again.")
            return
        if not result["polygons"]:
            await self.error("empty_mask", "The mask is empty; nothing to save.")
            return
        try:
            saved = await database_sync_to_async(save_object)(
                user=self.scope["user"],
                image_id=self.ctx.image_id,
                obj=obj,
                polygons=result["polygons"],
                client_key=obj.client_key,
            )
        except Refused as refused:
            await self.error(refused.code, refused.message)
            return
        except ServiceError as exc:
            await self.send_json({"type": "error", "code": exc.code, "message": exc.message, "details": exc.details})
            return
        self.obj = None
        await asyncio.to_thread(_forget, obj.session_id)
        await self.send_json({"type": "saved", "object": saved})

    # ------------------------------------------------------------------ jobs
    async def request(self, seq: int) -> None:
        """The object's state changed (as of `seq`): compute it now, or after the job in flight."""
        obj = self.obj
        self.last_seq = obj.latest_seq = seq
        if obj.in_flight is not None:
            if obj.pending is not None:
                await self.send_json({"type": "superseded", "seq": obj.pending})
            obj.pending = seq
            return
        await self.submit(seq)

    async def submit(self, seq: int) -> None:
        if time.monotonic() - self.login_checked_at > settings.WS_LOGIN_RECHECK_S and not await self.still_logged_in():
            return
        obj = self.obj
        obj.in_flight = seq
        job = {
            "session": obj.session_id,
            "seq": seq,
            "image": {"id": self.ctx.image_id, "path": self.ctx.path, "sha256": self.ctx.sha256},
            "model": obj.model,
            "clicks": [click.as_list() for click in obj.clicks],
            "options": {
                "threshold": obj.options.threshold,
                "largest_component": obj.options.largest_component,
                "tolerance": obj.options.tolerance,
            },
            "expect_state": obj.last_result is not None,
            "reply_channel": self.channel_name,
            "submitted_at": time.time(),
        }
        loop = asyncio.get_running_loop()
        self.timeouts[seq] = loop.call_later(
            settings.INFERENCE_TIMEOUT_S, lambda: asyncio.ensure_future(self.job_timed_out(obj, seq))
        )
        try:
            await inference_backend().submit(job)
        except Exception as exc:  # noqa: BLE001 - the broker is down: tell the client, keep the connection
            log.exception("could not submit a click job")
            await self.job_done(obj, seq, {"ok": False, "seq": seq, "code": "queue_unavailable", "message": str(exc)})

    async def inference_result(self, event: dict) -> None:
        obj = self.obj
        if obj is None or event.get("seq") != obj.in_flight:
            return  # a job answered after its timeout, or for a cancelled object
        await self.job_done(obj, event["seq"], event)

    async def job_timed_out(self, obj: ObjectSession, seq: int) -> None:
        if self.obj is obj and obj.in_flight == seq:
            message = f"No worker answered within {settings.INFERENCE_TIMEOUT_S} s; try again."
            await self.job_done(obj, seq, {"ok": False, "seq": seq, "code": "worker_timeout", "message": message})

    async def job_done(self, obj: ObjectSession, seq: int, result: dict) -> None:
        handle = self.timeouts.pop(seq, None)
        if handle:
            handle.cancel()
        obj.in_flight = None
        if obj.pending is not None:
            pending, obj.pending = obj.pending, None
            await self.send_json({"type": "superseded", "seq": seq})
            await self.submit(pending)
            return
        obj.last_result = result
        if result.get("ok"):
            reply = {key: value for key, value in result.items() if key not in {"ok", "type"}}
            await self.send_json({"type": "mask", **reply})
        else:
            await self.error(result.get("code", "inference_failed"), result.get("message", ""), seq=seq)
        if obj.finish_requested:
            await self.finish(obj)


def _forget(session_id: str) -> None:
    from backend.interactive.worker import forget

    forget(session_id)
