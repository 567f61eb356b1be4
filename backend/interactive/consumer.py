"""The websocket of interactive annotation on one image. Protocol: docs/interactive-protocol.md (v2).

The browser owns the click list (and its undo/redo): each change sends the whole list, and the socket only
computes masks — objects are saved over REST. Per object this keeps the latest wanted clicks, options, label
and model, and the job bookkeeping: at most one job in flight and at most one waiting; a newer request replaces
the waiting one (its seq is answered `superseded`), so a burst of clicks costs one forward pass, not a queue.
"""

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.urls import path

from backend.collab.consumer import LiveSocket
from backend.interactive import liveness, protocol
from backend.interactive.auth import credentials_still_valid
from backend.interactive.context import ImageContext, Refused, editable_image, load_context
from backend.interactive.jobs import ClickJob, JobReply, inference_backend
from backend.interactive.protocol import ProtocolError
from backend.interactive.ratelimit import TokenBucket
from ml.inference.clicks import Click
from ml.postprocess import MaskOptions

log = logging.getLogger(__name__)

SEQUENCED = {"clicks", "options"}  # and `start` with clicks
WORKER_CHECK_EVERY_S = 1.0  # how often the worker running a click is checked for being alive
READINESS_CHECK_EVERY_S = 1.0  # while the model is not ready for a socket's image
MAX_RESENDS = 2  # a click whose workers keep dying is answered by the time-out


@dataclass
class ObjectSession:
    """The object being segmented on this connection: what the client wants now, and its jobs."""

    label: int
    model: str
    options: MaskOptions
    clicks: tuple[Click, ...] = ()
    session_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    in_flight: int | None = None  # the seq being computed
    job: ClickJob | None = None  # its job, sent again if the worker that took it dies
    taken_by: str | None = None  # the worker that said it runs the job in flight
    resent: int = 0  # times the job in flight was sent again
    pending: int | None = None  # the seq waiting for it (the newest request)
    mask_sent: bool = False  # the client has a mask of this object, so its state exists somewhere
    withheld: int | None = None  # the seq in flight whose edit-right check failed: its mask is dropped


class AnnotateConsumer(LiveSocket, AsyncJsonWebsocketConsumer):
    """Masks for clicks; and, through `LiveSocket`, who else has the image open, leases on its objects and their
    saved changes (docs/interactive-protocol.md, "Teamwork"). Whoever may see the image connects; those who may not
    edit it (`ready.can_edit` false) only watch: what changes anything is refused message by message."""

    ctx: ImageContext
    obj: ObjectSession | None = None

    async def connect(self) -> None:
        await self.accept()
        self.right_refused = False  # the last edit-right check failed: check before computing the next
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
        defaults = MaskOptions()
        self.watchdog: asyncio.Task | None = None
        self.readiness_watch: asyncio.Task | None = None
        readiness = await inference_backend().readiness() if self.ctx.can_edit else None
        live = await self.live_join(
            user=self.scope["user"],
            project_id=self.ctx.project_id,
            image_id=self.ctx.image_id,
            batch_id=self.ctx.batch_id,
        )
        await self.send_json(
            {
                "type": "ready",
                "image": {"id": self.ctx.image_id, "width": self.ctx.width, "height": self.ctx.height},
                "can_edit": self.ctx.can_edit,  # False: read-only (presence and live changes; edits are refused)
                "model": self.ctx.default_model,
                "models": list(self.ctx.models),
                "options": {
                    "threshold": defaults.threshold,
                    "largest_component": defaults.largest_component,
                    "tolerance": defaults.tolerance,
                },
                **live,
                "inference": readiness.to_client() if readiness else None,
            }
        )
        if self.ctx.can_edit:  # nothing is computed for a read-only socket (its `start` is refused)
            await inference_backend().prepare(self.ctx.default_model, self.ctx.path, self.ctx.sha256)
            if not readiness.ready and inference_backend().announces_readiness:
                self.readiness_watch = asyncio.ensure_future(self.watch_readiness())

    async def disconnect(self, code: int) -> None:
        for handle in self.timeouts.values():
            handle.cancel()
        for task in (getattr(self, "watchdog", None), getattr(self, "readiness_watch", None)):
            if task is not None:
                task.cancel()
        await self.live_leave()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not hasattr(self, "ctx"):
            return
        self.heard()
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
                if self.obj is None:  # a read-only socket never has one: it is told it may not edit, first
                    await self.require_edit_right()
                self.require_object()
                seq = protocol.parse_seq(content, self.last_seq)
                await self.with_edit_right(lambda: handler(content, seq), seq)
            else:
                await handler(content)
        except ProtocolError as exc:
            await self.error(exc.code, exc.message, content)

    async def decode_json(self, text_data: str) -> Any:
        try:
            return await super().decode_json(text_data)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to parse
            return None  # answered as bad_message by receive_json

    async def error(self, code: str, message: str, content: Any = None) -> None:
        reply: dict[str, Any] = {"type": "error", "code": code, "message": message}
        seq = content.get("seq") if isinstance(content, dict) else None
        if isinstance(seq, int) and not isinstance(seq, bool):
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

    async def with_edit_right(self, work: Callable[[], Awaitable[None]], seq: int) -> None:
        """Run ``work`` (which submits ``seq``'s job) while the edit right is checked, so that the check's
        database round trip is not added to the click. A refused ``seq`` raises here and its mask is never sent:
        the check ends before this socket handles any other event, its job's result included. After a refusal
        the next message is checked before anything is computed."""
        if self.right_refused:
            await self.require_edit_right()
            self.right_refused = False
            await work()
            return
        check = asyncio.ensure_future(self.require_edit_right())
        try:
            await work()
        finally:
            try:
                await check
            except ProtocolError:
                self.right_refused = True
                self.withhold(seq)
                raise

    def withhold(self, seq: int) -> None:
        """``seq`` was refused: its mask, computed or waiting, is not for this client."""
        obj = self.obj
        if obj is None:
            return
        if obj.pending == seq:
            obj.pending = None
        if obj.in_flight == seq:
            obj.withheld = seq

    def require_object(self) -> ObjectSession:
        if self.obj is None:
            raise ProtocolError("no_object", "Start an object first.")
        return self.obj

    # ------------------------------------------------------------------ messages
    async def on_ping(self, content: dict) -> None:
        await self.send_json({"type": "pong", "time": time.time()})

    async def on_start(self, content: dict) -> None:
        label = protocol.parse_label(content)
        options = protocol.parse_options(content, MaskOptions())
        given = content.get("clicks")
        clicks = protocol.parse_clicks([] if given is None else given, self.ctx.width, self.ctx.height)
        seq = protocol.parse_seq(content, self.last_seq) if clicks else None
        if not await self.still_logged_in():
            return
        slice_index = protocol.parse_slice(content, self.ctx.slices)
        try:  # the right to edit, the project's labels and models, and the slice as shown, as they are now
            self.ctx = await database_sync_to_async(load_context)(self.scope["user"], self.ctx.image_id, slice_index)
        except Refused as refused:
            raise ProtocolError(refused.code, refused.message) from refused
        if self.ctx.refusal is not None:
            raise ProtocolError("forbidden", self.ctx.refusal)
        if label not in self.ctx.label_ids:
            raise ProtocolError("unknown_label", f"Label {label} does not exist in this project.")
        model = content.get("model") or self.ctx.default_model
        if model not in self.ctx.models:
            raise ProtocolError("unknown_model", f"Model {str(model)[:100]!r} is not available in this project.")
        if self.obj is not None:  # a new object replaces the one under way, which the client gave up
            await inference_backend().forget(self.obj.session_id)
        self.obj = ObjectSession(label, model, options, clicks)
        await self.send_json(
            {"type": "started", "session": self.obj.session_id, "model": model, "label": label, "slice": self.ctx.slice}
        )
        if seq is not None:
            await self.request(seq)

    async def on_clicks(self, content: dict, seq: int) -> None:
        self.obj.clicks = protocol.parse_clicks(content.get("clicks"), self.ctx.width, self.ctx.height)
        await self.request(seq)

    async def on_options(self, content: dict, seq: int) -> None:
        self.obj.options = protocol.parse_options(content, self.obj.options)
        await self.request(seq)

    async def on_cancel(self, content: dict) -> None:
        obj = self.require_object()
        self.obj = None
        await inference_backend().forget(obj.session_id)
        await self.send_json({"type": "cancelled", "session": obj.session_id})

    # ------------------------------------------------------------------ jobs
    async def request(self, seq: int) -> None:
        """The object's wanted state changed (as of `seq`): compute it now, or after the job in flight."""
        obj = self.obj
        self.last_seq = seq
        if obj.in_flight is not None:
            if obj.pending is not None:
                await self.send_json({"type": "superseded", "seq": obj.pending})
            obj.pending = seq
            return
        await self.submit(obj, seq)

    async def submit(self, obj: ObjectSession, seq: int) -> None:
        if time.monotonic() - self.login_checked_at > settings.WS_LOGIN_RECHECK_S and not await self.still_logged_in():
            return
        obj.in_flight = seq
        job = ClickJob(
            session=obj.session_id,
            seq=seq,
            model=obj.model,
            image_path=self.ctx.path,
            image_sha256=self.ctx.sha256,
            clicks=obj.clicks,
            options=obj.options,
            expect_state=obj.mask_sent,
            reply_channel=self.channel_name,
            submitted_at=time.time(),
        )
        obj.job, obj.taken_by, obj.resent = job, None, 0
        self.timeouts[seq] = asyncio.get_running_loop().call_later(
            settings.INFERENCE_TIMEOUT_S, lambda: asyncio.ensure_future(self.job_timed_out(obj, seq))
        )
        try:
            busy = await inference_backend().submit(job)
        except Exception as exc:  # noqa: BLE001 - the broker is down: tell the client, keep the connection
            log.exception("could not submit a click job")
            await self.job_done(obj, JobReply.failed(seq, "queue_unavailable", str(exc)))
            return
        if busy is not None:  # overloaded, or no warm worker: the client retries after `retry_after_s`
            self.clear_timeout(seq)
            obj.in_flight = obj.job = None
            await self.send_json(busy.to_client(seq))
            if obj.pending is not None:  # newer than the refused one: it is answered `busy` too, or computed
                pending, obj.pending = obj.pending, None
                await self.submit(obj, pending)
            return
        self.watch_job()

    async def inference_result(self, event: dict) -> None:
        reply = JobReply.from_message(event)
        if self.obj is None or reply.seq != self.obj.in_flight:
            self.clear_timeout(reply.seq)
            return  # a job answered after its timeout, or for an object since cancelled or replaced
        await self.job_done(self.obj, reply)

    async def watch_readiness(self) -> None:
        """The model was not ready when the socket opened (workers warming up, or none): say when it is."""
        while not (readiness := await inference_backend().readiness()).ready:
            await asyncio.sleep(READINESS_CHECK_EVERY_S)
        await self.send_json({"type": "model_status", **readiness.to_client()})

    async def inference_taken(self, event: dict) -> None:
        """A worker runs the job in flight: the watchdog checks that it stays alive until the answer comes."""
        obj = self.obj
        if obj is not None and event.get("seq") == obj.in_flight:
            obj.taken_by = str(event.get("worker"))

    def watch_job(self) -> None:
        if not inference_backend().workers_can_die:
            return
        if self.watchdog is None or self.watchdog.done():
            self.watchdog = asyncio.ensure_future(self.watch_worker())

    async def watch_worker(self) -> None:
        """While a job is in flight: when the worker that took it is gone (its alive key expired: killed, or its
        machine lost), or no worker took it within the time an admitted job waits at most (one that died between
        taking it from the queue and saying so), send it again, so that another worker answers it. A job is a pure
        function of the stored state and the clicks: computing it twice is harmless, the later answer is dropped."""
        while (obj := self.obj) is not None and obj.in_flight is not None and obj.job is not None:
            await asyncio.sleep(WORKER_CHECK_EVERY_S)
            if self.obj is not obj or obj.in_flight is None or obj.job is None:
                continue
            if obj.taken_by is not None:
                if await inference_backend().worker_alive(obj.taken_by):
                    continue
                why = f"worker {obj.taken_by} is gone"
            elif time.time() - obj.job.submitted_at > settings.INFERENCE_MAX_WAIT_S + liveness.ALIVE_TTL_S:
                why = "no worker took it"
            else:
                continue
            if obj.resent >= MAX_RESENDS:
                return  # the time-out answers it
            log.warning("click %s/%s: %s; sending it again", obj.session_id, obj.in_flight, why)
            obj.taken_by, obj.resent = None, obj.resent + 1
            obj.job = replace(obj.job, submitted_at=time.time())
            try:
                await inference_backend().resend(obj.job)
            except Exception:  # noqa: BLE001 - the time-out answers it
                log.exception("could not send a click job again")
                return

    async def job_timed_out(self, obj: ObjectSession, seq: int) -> None:
        if self.obj is obj and obj.in_flight == seq:
            message = f"No worker answered within {settings.INFERENCE_TIMEOUT_S} s; try again."
            await self.job_done(obj, JobReply.failed(seq, "worker_timeout", message))

    def clear_timeout(self, seq: int) -> None:
        handle = self.timeouts.pop(seq, None)
        if handle:
            handle.cancel()

    async def job_done(self, obj: ObjectSession, reply: JobReply) -> None:
        self.clear_timeout(reply.seq)
        obj.in_flight = obj.job = obj.taken_by = None
        if obj.withheld == reply.seq:  # refused after it was submitted (the client got the error)
            obj.withheld = None
            if obj.pending is not None:
                pending, obj.pending = obj.pending, None
                await self.submit(obj, pending)
            return
        if obj.pending is not None:  # the client wants something newer already: this answer is out of date
            pending, obj.pending = obj.pending, None
            await self.send_json({"type": "superseded", "seq": reply.seq})
            await self.submit(obj, pending)
            return
        obj.mask_sent = obj.mask_sent or reply.ok
        await self.send_json(reply.to_client())


websocket_urlpatterns = [
    path("ws/images/<int:image_id>/annotate/", AnnotateConsumer.as_asgi()),
]
