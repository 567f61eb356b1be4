"""Teamwork over the sockets, in this process (Channels' WebsocketCommunicator on the real ASGI app), on both
kinds of store: the embedded default's memory and team mode's Redis.

Two people on one image (the batch's annotator and a manager): who else is there, leases granted and refused
with the holder's name, released, dropped with the connection, expired when heartbeats stop, broken by a
manager; saved changes reach every socket on the image after the commit; the project socket follows presence,
review decisions and batch status.
"""

import asyncio
from typing import Any

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from backend.annotations.services import object_create
from backend.collab.colours import person
from backend.images.services import batch_submit
from tests.conftest import SQUARE, World
from tests.interactive.inprocess import ORIGIN, Socket
from tests.live_stack import token_for
from tests.own_loop import run_in_own_loop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_mode")]

MOVED = [{"outer": [[12, 12], [42, 12], [42, 32], [12, 32]], "holes": []}]


class Live(Socket):
    """A socket that waits for one message type, failing on errors (and on what `forbid` names)."""

    def __init__(self, path: str, token: str) -> None:
        from backend.config.asgi import application

        self.communicator = WebsocketCommunicator(
            application, f"{path}?token={token}", headers=[(b"host", b"testserver"), (b"origin", ORIGIN.encode())]
        )
        self.replies: list[dict[str, Any]] = []

    async def next(self, kind: str, timeout: float = 20, **match: Any) -> dict[str, Any]:
        while True:
            reply = await self.recv(timeout)
            if reply["type"] == "error":
                raise AssertionError(f"error while waiting for {kind}: {reply}")
            if reply["type"] == kind and all(reply.get(k) == v for k, v in match.items()):
                return reply

    async def error(self, timeout: float = 20) -> dict[str, Any]:
        while (reply := await self.recv(timeout))["type"] != "error":
            pass
        return reply


def annotate(world: World, who: str, image=None) -> Live:
    image = image or world.batched_image
    return Live(f"/ws/images/{image.pk}/annotate/", token_for(world.users[who]))


def project_socket(world: World, who: str) -> Live:
    return Live(f"/ws/projects/{world.project.pk}/live/", token_for(world.users[who]))


def you(world: World, who: str) -> dict[str, Any]:
    user = world.users[who]
    return person(user.pk, user.username)


def rest(world: World, who: str, method: str, url: str, body: dict | None = None):
    """A REST call from the socket's event loop (its broadcasts go out on that loop, as under daphne)."""

    def call():
        response = getattr(world.client(who), method)(url, body, format="json")
        return response.status_code, (response.json() if response.content else None)

    return database_sync_to_async(call)()


def test_two_people_on_one_image_see_each_other_and_each_others_leases(world: World, settings) -> None:
    obj = world.obj
    other = object_create(image=world.batched_image, author=world.users["manager"], label_id=world.label.pk,
                          polygons=SQUARE)  # fmt: skip

    a, b = annotate(world, "annotator"), annotate(world, "manager")

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        seen["a ready"] = await a.open()
        seen["b ready"] = await b.open()
        seen["a viewers"] = await a.next("viewers")
        await a.send(type="lease", object=obj.pk)
        seen["a granted"] = await a.next("leases")
        seen["b told"] = await b.next("leases")
        await b.send(type="lease", object=obj.pk)
        seen["b refused"] = await b.next("lease_refused")
        await b.send(type="lease", object=other.pk)  # every other object stays free
        seen["b granted"] = await b.next("leases")
        seen["a told"] = await a.next("leases")
        await a.send(type="release", object=obj.pk)
        seen["a released"] = await a.next("leases")
        seen["b told of release"] = await b.next("leases")
        await a.send(type="lease", object=obj.pk)
        await a.next("leases")
        await b.next("leases")
        await a.send(type="lease", object=other.pk)  # another lease in the same socket releases the first
        seen["a moved"] = await a.next("lease_refused")
        seen["b after move"] = await b.next("leases")
        await a.send(type="lease", object=999_999)
        seen["unknown"] = await a.error()
        await b.close()  # the connection's lease goes with it
        seen["a after b left"] = await a.next("leases")
        seen["a viewers after b left"] = await a.next("viewers")
        await a.close()
        return seen

    seen = run_in_own_loop(scenario)
    annotator, manager = you(world, "annotator"), you(world, "manager")
    a_ready, b_ready = seen["a ready"], seen["b ready"]
    assert a_ready["type"] == "ready" and a_ready["you"] == annotator and a_ready["viewers"] == []
    assert a_ready["leases"] == [] and a_ready["lease_ttl_s"] == settings.LEASE_TTL_S
    assert a_ready["heartbeat_s"] == settings.LEASE_HEARTBEAT_S
    assert (a_ready["can_break_leases"], b_ready["can_break_leases"]) == (False, True)  # only managers take over
    assert annotator["colour"].startswith("#") and len(annotator["colour"]) == 7
    assert b_ready["viewers"] == [{**annotator, "role": "annotator"}]
    assert seen["a viewers"]["viewers"] == [{**manager, "role": "manager"}]
    assert seen["a granted"]["leases"] == [{"object": obj.pk, "holder": annotator, "mine": True}]
    assert seen["b told"]["leases"] == [{"object": obj.pk, "holder": annotator, "mine": False}]
    refused = seen["b refused"]
    assert refused == {"type": "lease_refused", "object": obj.pk, "holder": annotator,
                       "message": "annotator is editing this object."}  # fmt: skip
    both = [
        {"object": obj.pk, "holder": annotator, "mine": False},
        {"object": other.pk, "holder": manager, "mine": True},
    ]
    assert seen["b granted"]["leases"] == both
    assert seen["a told"]["leases"] == [{**both[0], "mine": True}, {**both[1], "mine": False}]
    assert seen["a released"]["leases"] == [{**both[1], "mine": False}]
    assert seen["b told of release"]["leases"] == [both[1]]
    assert seen["a moved"]["object"] == other.pk and seen["a moved"]["holder"] == manager
    assert seen["b after move"]["leases"] == [both[1]]  # a's lease on obj went when it asked for another
    assert seen["unknown"]["type"] == "error" and seen["unknown"]["code"] == "unknown_object"
    assert seen["a after b left"]["leases"] == []
    assert seen["a viewers after b left"]["viewers"] == []


def test_a_lease_without_heartbeats_expires_and_the_object_is_free(world: World, settings) -> None:
    settings.LEASE_TTL_S = 0.6
    settings.LEASE_HEARTBEAT_S = 0.1
    obj = world.obj

    a, b = annotate(world, "annotator"), annotate(world, "manager")

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        await a.open()
        await b.open()
        await a.send(type="lease", object=obj.pk)
        await a.next("leases")
        await b.next("leases", leases=[{"object": obj.pk, "holder": you(world, "annotator"), "mine": False}])
        # a sends no heartbeat: the server's periodic check tells each side
        seen["a lost"] = await a.next("lease_lost")
        seen["b freed"] = await b.next("leases", leases=[])
        await b.send(type="lease", object=obj.pk)
        seen["b granted"] = await b.next("leases")
        await a.close()
        await b.close()
        return seen

    seen = run_in_own_loop(scenario)
    assert seen["a lost"] == {"type": "lease_lost", "object": obj.pk, "reason": "expired", "by": None}
    assert seen["b granted"]["leases"] == [{"object": obj.pk, "holder": you(world, "manager"), "mine": True}]


def test_a_silent_connection_loses_its_lease_long_before_the_ttl(world: World, settings) -> None:
    """A dropped connection the server has not noticed (no close frame) still has its socket here; its lease is not
    renewed any more, but would live out LEASE_TTL_S. Silence (LEASE_SILENCE_S without a message) releases it."""
    settings.LEASE_TTL_S = 120.0  # the TTL cannot be what frees it within this test
    settings.LEASE_HEARTBEAT_S = 0.2
    settings.LEASE_SILENCE_S = 1.0
    obj = world.obj
    a, b = annotate(world, "annotator"), annotate(world, "manager")
    held = [{"object": obj.pk, "holder": you(world, "annotator"), "mine": False}]

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        await a.open()
        await b.open()
        await a.send(type="lease", object=obj.pk)
        await a.next("leases")
        await b.next("leases", leases=held)
        started = asyncio.get_running_loop().time()
        seen["b freed"] = await b.next("leases", timeout=90, leases=[])  # a says nothing from here on
        seen["after_s"] = asyncio.get_running_loop().time() - started
        seen["a lost"] = await a.next("lease_lost")
        await b.send(type="lease", object=obj.pk)
        seen["b granted"] = await b.next("leases", leases=[{"object": obj.pk, "holder": you(world, "manager"),
                                                           "mine": True}])  # fmt: skip
        await a.close()
        await b.close()
        return seen

    seen = run_in_own_loop(scenario)
    assert seen["a lost"] == {"type": "lease_lost", "object": obj.pk, "reason": "expired", "by": None}
    assert seen["after_s"] < 60, seen["after_s"]  # silence freed it, not the TTL


def test_saved_changes_reach_every_socket_on_the_image_after_the_commit(world: World) -> None:
    """Each REST write is broadcast with the object exactly as GET …/objects/ shows it; the author's socket gets
    it too. A change refused (409) sends nothing."""
    image, obj = world.batched_image, world.obj
    a, b = annotate(world, "annotator"), annotate(world, "manager")
    objects_url = f"/api/images/{image.pk}/objects/"

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        await a.open()
        await b.open()
        status, _ = await rest(world, "manager", "patch", f"/api/objects/{obj.pk}/", {"version": 1, "polygons": MOVED})
        assert status == 200
        seen["a updated"] = await a.next("object_changed")
        seen["b updated"] = await b.next("object_changed")
        seen["listed"] = (await rest(world, "annotator", "get", objects_url))[1]
        status, _ = await rest(world, "manager", "patch", f"/api/objects/{obj.pk}/", {"version": 1, "polygons": SQUARE})
        assert status == 409
        status, created = await rest(
            world, "annotator", "post", objects_url, {"label": world.label.pk, "polygons": SQUARE}
        )
        assert status == 201
        seen["created"] = await b.next("object_changed")  # the stale save above sent nothing before it
        seen["created listed"] = (await rest(world, "annotator", "get", objects_url))[1]
        status, _ = await rest(world, "annotator", "delete", f"/api/objects/{created['id']}/?version=1")
        assert status == 204
        seen["deleted"] = await b.next("object_changed")
        status, _ = await rest(world, "annotator", "post", f"/api/objects/{created['id']}/restore/", {"version": 1})
        assert status == 201
        seen["restored"] = await b.next("object_changed")
        status, _ = await rest(world, "reviewer", "post", f"/api/images/{image.pk}/comments/", {"text": "edge"})
        assert status == 201
        seen["comment"] = await a.next("comment_added")
        await a.close()
        await b.close()
        return seen

    seen = run_in_own_loop(scenario)
    manager, annotator = you(world, "manager"), you(world, "annotator")
    updated = seen["a updated"]
    assert updated == seen["b updated"]
    assert updated["action"] == "updated" and updated["by"] == manager
    assert updated["object"] == next(o for o in seen["listed"] if o["id"] == obj.pk)
    assert updated["object"]["version"] == 2 and updated["object"]["polygons"] == MOVED
    created = seen["created"]
    assert (created["action"], created["by"]) == ("created", annotator)
    assert created["object"] == next(o for o in seen["created listed"] if o["id"] == created["object"]["id"])
    deleted = seen["deleted"]
    assert deleted["action"] == "deleted" and deleted["object"]["id"] == created["object"]["id"]
    assert deleted["object"]["version"] == 2  # the version its deletion has
    restored = seen["restored"]
    assert restored["action"] == "restored" and restored["object"]["version"] == 3
    assert restored["object"]["number"] == created["object"]["number"]
    comment = seen["comment"]["comment"]
    assert comment["text"] == "edge" and comment["author_name"] == "reviewer" and comment["image"] == image.pk


def test_a_manager_breaks_a_lease(world: World) -> None:
    obj = world.obj
    a, b = annotate(world, "annotator"), annotate(world, "manager")

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        await a.open()
        await b.open()
        await a.send(type="lease", object=obj.pk)
        await a.next("leases")
        await b.next("leases", leases=[{"object": obj.pk, "holder": you(world, "annotator"), "mine": False}])
        seen["refused"] = await rest(world, "manager", "patch", f"/api/objects/{obj.pk}/", {"version": 1})
        seen["annotator may not"] = await rest(world, "annotator", "delete", f"/api/objects/{obj.pk}/lease/")
        seen["break"] = await rest(world, "manager", "delete", f"/api/objects/{obj.pk}/lease/")
        seen["lost"] = await a.next("lease_lost")
        seen["b leases"] = await b.next("leases", leases=[])
        seen["a leases"] = await a.next("leases", leases=[])
        seen["again"] = await rest(world, "manager", "delete", f"/api/objects/{obj.pk}/lease/")
        seen["saved"] = await rest(
            world, "manager", "patch", f"/api/objects/{obj.pk}/", {"version": 1, "polygons": MOVED}
        )
        await a.close()
        await b.close()
        return seen

    seen = run_in_own_loop(scenario)
    status, body = seen["refused"]
    assert status == 423 and body["code"] == "object_leased" and body["holder"] == you(world, "annotator")
    assert body["detail"] == "annotator is editing this object."
    assert seen["annotator may not"][0] == 403
    assert seen["break"] == (204, None)
    assert seen["lost"] == {"type": "lease_lost", "object": obj.pk, "reason": "broken", "by": you(world, "manager")}
    assert seen["again"][0] == 404 and seen["again"][1]["error"] == "no_lease"
    assert seen["saved"][0] == 200


def test_the_project_socket_follows_presence_reviews_and_batches(world: World) -> None:
    image = world.batched_image
    page, outsider = project_socket(world, "manager"), project_socket(world, "outsider")
    a = annotate(world, "annotator")

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        seen["outsider"] = await outsider.open()
        seen["outsider closed"] = await outsider.close_code()
        seen["ready"] = await page.open()
        await a.open()
        seen["viewers"] = await page.next("viewers")
        await page.send(type="heartbeat")
        await page.send(type="bogus")
        seen["bogus"] = await page.error()
        await database_sync_to_async(batch_submit)(batch=world.batch, by=world.users["annotator"])
        seen["image submitted"] = await page.next("image_changed")
        seen["batch submitted"] = await page.next("batch_changed")
        seen["a told"] = await a.next("image_changed")
        seen["review"] = await rest(world, "reviewer", "post", f"/api/images/{image.pk}/review", {"decision": "reject"})
        seen["image rejected"] = await page.next("image_changed")
        seen["a told of review"] = await a.next("image_changed")
        await a.close()
        seen["a left"] = await page.next("viewers")
        await page.close()
        return seen

    seen = run_in_own_loop(scenario)
    manager, annotator, reviewer = you(world, "manager"), you(world, "annotator"), you(world, "reviewer")
    assert seen["outsider"]["code"] == "not_found" and seen["outsider closed"] == 4404
    assert seen["ready"]["you"] == manager and seen["ready"]["viewers"] == [{**manager, "image": None, "batch": None}]
    assert seen["viewers"]["viewers"] == [
        {**annotator, "image": image.pk, "batch": world.batch.pk},
        {**manager, "image": None, "batch": None},
    ]
    assert seen["bogus"]["code"] == "unknown_type"
    submitted = {"id": image.pk, "status": "submitted", "batch": world.batch.pk}
    assert seen["image submitted"] == {"type": "image_changed", "image": submitted, "by": annotator}
    assert seen["a told"] == seen["image submitted"]
    batch = {"id": world.batch.pk, "status": "submitted", "assignee": world.users["annotator"].pk}
    assert seen["batch submitted"] == {"type": "batch_changed", "batch": batch}
    assert seen["review"][0] == 200, seen["review"]
    rejected = {"type": "image_changed", "image": {**submitted, "status": "rejected"}, "by": reviewer}
    assert seen["image rejected"] == rejected == seen["a told of review"]
    assert seen["a left"]["viewers"] == [{**manager, "image": None, "batch": None}]
