"""The teamwork side of the sockets (docs/interactive-protocol.md, "Teamwork").

`LiveSocket` is mixed into both sockets: the annotate socket of an image (`backend.interactive.consumer`: presence
on the image, leases, live object changes) and the project socket `ws/projects/<id>/live/` defined here (who is
where in the project, image and batch status changes). The logic lives in `services` and `selectors`; this only
keeps what the socket last told its client, and re-checks it every `LEASE_HEARTBEAT_S` so that expiries and
broadcasts missed (another web process, a Redis hiccup) heal without a reconnect.
"""

import asyncio
import itertools
import logging
import time
from typing import Any

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404
from django.urls import path

from backend.collab import selectors, services
from backend.collab.broadcast import image_group, project_group
from backend.collab.colours import person
from backend.collab.presence import Presence
from backend.common.errors import InvalidInput
from backend.interactive.protocol import ProtocolError
from backend.interactive.ratelimit import TokenBucket
from backend.projects.access import MANAGING_ROLES, get_project_for, role_in
from backend.projects.models import Project

log = logging.getLogger(__name__)


def _store(function: Any) -> Any:
    """A store call off the event loop (Redis is a network round trip)."""
    return sync_to_async(function, thread_sensitive=False)


def role_of(user: AbstractBaseUser, project_id: int) -> str:
    role = role_in(user, Project(pk=project_id))
    return role.value if role else ""


SILENCE_CHECKS_PER_HEARTBEAT = 3


def silence_limit_s() -> float:
    """How long a socket holding a lease may stay silent: LEASE_SILENCE_S, never less than two heartbeats."""
    return max(settings.LEASE_SILENCE_S, 2 * settings.LEASE_HEARTBEAT_S)


def parse_object(content: dict) -> int:
    value = content.get("object")
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**63:
        raise ProtocolError("bad_message", "'object' is the id of a saved object.")
    return value


class LiveSocket:
    """Presence, leases and forwarded changes of one connection. Mixed into an AsyncJsonWebsocketConsumer."""

    live_project: int | None = None
    live_image: int | None = None  # None on the project socket
    live_batch: int | None = None  # the image's batch, if it is in one
    lease_object: int | None = None  # the object this connection holds a lease on
    told_viewers: list | None = None
    told_leases: list | None = None
    live_task: asyncio.Task | None = None
    _lease_lock: asyncio.Lock | None = None
    last_heard = 0.0  # time.monotonic() of the client's last message

    def heard(self) -> None:
        """A message arrived: the connection is alive (a heartbeat, or any other message)."""
        self.last_heard = time.monotonic()

    @property
    def lease_lock(self) -> asyncio.Lock:
        """Held while the connection's lease is read and changed across an await: the periodic re-check runs
        beside the messages, and must never judge a lease that a `lease` or `release` is moving meanwhile."""
        if self._lease_lock is None:
            self._lease_lock = asyncio.Lock()
        return self._lease_lock

    # ------------------------------------------------------------------ joining and leaving
    async def live_join(
        self, *, user: AbstractBaseUser, project_id: int, image_id: int | None, batch_id: int | None = None
    ) -> dict[str, Any]:
        """Join the groups and the presence; the fields `ready` gains."""
        self.live_project, self.live_image, self.live_batch = project_id, image_id, batch_id
        self.heard()
        self.live_user_id, self.live_name = user.pk, user.get_username()
        self.live_role = await database_sync_to_async(role_of)(user, project_id)
        groups = [image_group(image_id)] if image_id is not None else [project_group(project_id)]
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        await _store(services.presence_touch)(project_id=project_id, entry=self.presence_entry())
        await self.nudge_viewers()
        self.told_viewers = await self.current_viewers()
        ready: dict[str, Any] = {"you": person(self.live_user_id, self.live_name), "viewers": self.told_viewers}
        if image_id is not None:
            self.told_leases = await _store(selectors.image_leases)(image_id, self.channel_name)
            ready |= {
                "leases": self.told_leases,
                "lease_ttl_s": settings.LEASE_TTL_S,
                "heartbeat_s": settings.LEASE_HEARTBEAT_S,
                "can_break_leases": self.live_role in MANAGING_ROLES,  # DELETE /api/objects/<id>/lease/
            }
        self.live_task = asyncio.get_running_loop().create_task(self.live_loop())
        return ready

    async def live_leave(self) -> None:
        if self.live_task is not None:
            self.live_task.cancel()
        if self.live_project is None:
            return  # never joined (refused)
        # Out of the groups first: the nudges below would otherwise reach this closed channel too, and the Redis
        # channel layer keeps a message for a channel nobody receives on any more in its receive buffer for good.
        for group in (image_group(self.live_image) if self.live_image else None, project_group(self.live_project)):
            if group:
                await self.channel_layer.group_discard(group, self.channel_name)
        if self.lease_object is not None:
            object_id, self.lease_object = self.lease_object, None
            await _store(services.lease_release)(object_id=object_id, connection=self.channel_name)
            await self.nudge_leases()
        await _store(services.presence_leave)(project_id=self.live_project, connection=self.channel_name)
        await self.nudge_viewers()

    def presence_entry(self) -> Presence:
        return Presence(
            self.channel_name, self.live_user_id, self.live_name, self.live_role, self.live_image, self.live_batch
        )

    # ------------------------------------------------------------------ what the client is told
    async def current_viewers(self) -> list[dict[str, Any]]:
        entries = await _store(selectors.project_presence)(self.live_project)
        if self.live_image is None:
            return selectors.project_viewers(entries)
        return selectors.image_viewers(entries, self.live_image, self.live_user_id)

    async def sync_viewers(self) -> None:
        viewers = await self.current_viewers()
        if viewers != self.told_viewers:
            self.told_viewers = viewers
            await self.send_json({"type": "viewers", "viewers": viewers})

    async def sync_leases(self, always: bool = False) -> None:
        if self.live_image is None:
            return
        leases = await _store(selectors.image_leases)(self.live_image, self.channel_name)
        if always or leases != self.told_leases:
            self.told_leases = leases
            await self.send_json({"type": "leases", "leases": leases})

    async def nudge_viewers(self) -> None:
        """Everyone who shows this connection's presence re-reads it (the image's sockets and the project page)."""
        if self.live_image is not None:
            await self.channel_layer.group_send(image_group(self.live_image), {"type": "collab.viewers"})
        await self.channel_layer.group_send(project_group(self.live_project), {"type": "collab.viewers"})

    async def nudge_leases(self) -> None:
        await self.channel_layer.group_send(image_group(self.live_image), {"type": "collab.leases"})

    async def live_loop(self) -> None:
        """Every heartbeat_s: what the client was told, checked against the stores. A few times as often: whether
        a connection holding a lease went silent (a dropped one loses it within silence + heartbeat_s / 3)."""
        silence = silence_limit_s()
        for tick in itertools.count(1):
            await asyncio.sleep(settings.LEASE_HEARTBEAT_S / SILENCE_CHECKS_PER_HEARTBEAT)
            try:
                await self.release_if_silent(silence)
                if tick % SILENCE_CHECKS_PER_HEARTBEAT == 0:
                    await self.live_recheck()
            except Exception:  # noqa: BLE001 - a store hiccup: the next round tries again
                log.exception("live re-check failed")

    async def release_if_silent(self, silence: float) -> None:
        """A connection that dropped without a close (a cut network, a sleeping laptop) keeps its socket open here
        until TCP gives up; its heartbeats stopped, though. After `silence` seconds without a message its lease
        goes, so others may edit the object (the client is told `lease_lost`, should it still be there)."""
        if self.lease_object is None or time.monotonic() - self.last_heard <= silence:
            return
        async with self.lease_lock:
            if self.lease_object is None:
                return
            log.info("socket silent for %.0f s: releasing its lease on object %s", silence, self.lease_object)
            await _store(services.lease_release)(object_id=self.lease_object, connection=self.channel_name)
            await self.lost_lease("expired", None)

    async def live_recheck(self) -> None:
        await self.sync_viewers()
        if self.live_image is None:
            return
        async with self.lease_lock:
            if self.lease_object is not None:
                lease = await _store(selectors.lease_of)(self.lease_object)
                if lease is None or lease.holder != self.channel_name:
                    await self.lost_lease("expired", None)
        await self.sync_leases()

    async def lost_lease(self, reason: str, by: dict | None) -> None:
        object_id, self.lease_object = self.lease_object, None
        await self.send_json({"type": "lease_lost", "object": object_id, "reason": reason, "by": by})
        await self.nudge_leases()

    # ------------------------------------------------------------------ channel-layer events
    async def collab_message(self, event: dict) -> None:
        await self.send_json(event["message"])

    async def collab_viewers(self, event: dict) -> None:
        await self.sync_viewers()

    async def collab_leases(self, event: dict) -> None:
        await self.sync_leases()

    async def collab_lease_lost(self, event: dict) -> None:
        async with self.lease_lock:
            if self.lease_object == event["object"]:
                self.lease_object = None
                await self.send_json({k: event[k] for k in ("object", "reason", "by")} | {"type": "lease_lost"})

    # ------------------------------------------------------------------ client messages (annotate socket)
    async def on_lease(self, content: dict) -> None:
        object_id = parse_object(content)
        await self.require_edit_right()
        async with self.lease_lock:
            try:
                answer = await database_sync_to_async(services.lease_take)(
                    user=self.scope["user"],
                    image_id=self.live_image,
                    object_id=object_id,
                    connection=self.channel_name,
                    previous=self.lease_object,
                )
            except InvalidInput as exc:
                raise ProtocolError(exc.code, exc.message) from exc
            if self.lease_object != object_id:
                self.lease_object = None
            if answer.granted:
                self.lease_object = object_id
        if not answer.granted:
            holder = person(answer.lease.user_id, answer.lease.name)
            message = f"{answer.lease.name} is editing this object."
            await self.send_json({"type": "lease_refused", "object": object_id, "holder": holder, "message": message})
        if answer.granted or answer.released is not None:
            await self.sync_leases(always=answer.granted)
            await self.nudge_leases()

    async def on_release(self, content: dict) -> None:
        object_id = parse_object(content)
        async with self.lease_lock:
            released = self.lease_object == object_id
            if released:
                self.lease_object = None
                await _store(services.lease_release)(object_id=object_id, connection=self.channel_name)
        if released:
            await self.nudge_leases()
        await self.sync_leases(always=True)

    async def on_heartbeat(self, content: dict) -> None:
        await _store(services.presence_touch)(project_id=self.live_project, entry=self.presence_entry())
        if self.live_image is None or self.lease_object is None:
            return
        try:
            await self.require_edit_right()
        except ProtocolError:  # the batch was submitted (or the image accepted) since: the lease goes
            async with self.lease_lock:
                object_id, self.lease_object = self.lease_object, None
                if object_id is not None:
                    await _store(services.lease_release)(object_id=object_id, connection=self.channel_name)
            await self.nudge_leases()
            raise
        async with self.lease_lock:
            if self.lease_object is None:
                return
            renewed = await _store(services.lease_renew)(object_id=self.lease_object, connection=self.channel_name)
            if not renewed:
                await self.lost_lease("expired", None)


class ProjectLiveConsumer(LiveSocket, AsyncJsonWebsocketConsumer):
    """`ws/projects/<id>/live/`: any member of the project. Server → client `ready`, `viewers`, `image_changed`,
    `batch_changed`; client → server `heartbeat` (and `ping`)."""

    async def connect(self) -> None:
        await self.accept()
        self.bucket = TokenBucket(settings.WS_MAX_MESSAGES_PER_SECOND)
        user = self.scope["user"]
        project_id = int(self.scope["url_route"]["kwargs"]["project_id"])
        refusal = await database_sync_to_async(self.refusal)(user, project_id)
        if refusal:
            code, message, close_code = refusal
            await self.send_json({"type": "error", "code": code, "message": message})
            await self.close(code=close_code)
            return
        ready = await self.live_join(user=user, project_id=project_id, image_id=None)
        await self.send_json({"type": "ready", "project": {"id": project_id}, **ready})

    @staticmethod
    def refusal(user: AbstractBaseUser, project_id: int) -> tuple[str, str, int] | None:
        if not user.is_authenticated:
            return "unauthenticated", "Log in (session) or pass ?token=.", 4401
        try:
            get_project_for(user, project_id)
        except Http404:
            return "not_found", "No such project.", 4404
        return None

    async def disconnect(self, code: int) -> None:
        await self.live_leave()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.live_project is None:
            return
        self.heard()
        kind = content.get("type") if isinstance(content, dict) else None
        if not self.bucket.allow():
            await self.send_json({"type": "error", "code": "rate_limited", "message": "Too many messages; slow down."})
        elif kind == "heartbeat":
            await self.on_heartbeat(content)
        elif kind == "ping":
            await self.send_json({"type": "pong", "time": time.time()})
        elif not isinstance(kind, str):
            await self.send_json({"type": "error", "code": "bad_message", "message": "A JSON object with a 'type'."})
        else:
            await self.send_json({"type": "error", "code": "unknown_type", "message": f"Unknown type {kind[:40]!r}."})

    async def decode_json(self, text_data: str) -> Any:
        try:
            return await super().decode_json(text_data)
        except (ValueError, RecursionError):
            return None


websocket_urlpatterns = [
    path("ws/projects/<int:project_id>/live/", ProjectLiveConsumer.as_asgi()),
]
