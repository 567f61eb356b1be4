"""A reviewer watching an image over a read-only annotate socket (`ready.can_edit` false): they appear among the
image's viewers, and are told of leases, saved object changes, review decisions and comments as they happen; what
would change anything (`start`, `clicks`, `lease`) is refused with `forbidden`. The annotator whose batch is
submitted keeps watching the same way."""

from typing import Any

import pytest
from channels.db import database_sync_to_async

from backend.images.services import batch_submit
from tests.collab.test_collab_ws import MOVED, annotate, rest, you
from tests.conftest import World
from tests.interactive.inprocess import outcome
from tests.own_loop import run_in_own_loop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_mode")]


def test_a_reviewer_watches_an_image_live_and_may_change_nothing(world: World) -> None:
    image, obj = world.batched_image, world.obj
    annotator_socket, reviewer_socket = annotate(world, "annotator"), annotate(world, "reviewer")

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        seen["annotator ready"] = await annotator_socket.open()
        seen["reviewer ready"] = await reviewer_socket.open()
        seen["annotator sees"] = await annotator_socket.next("viewers")
        await reviewer_socket.send(type="start", label=world.label.pk)
        seen["start"] = outcome(await reviewer_socket.error())
        await reviewer_socket.send(type="clicks", seq=1, clicks=[])
        seen["clicks"] = outcome(await reviewer_socket.error())
        await reviewer_socket.send(type="lease", object=obj.pk)
        seen["lease"] = outcome(await reviewer_socket.error())
        await annotator_socket.send(type="lease", object=obj.pk)
        seen["leases"] = await reviewer_socket.next("leases")
        status, _ = await rest(
            world, "annotator", "patch", f"/api/objects/{obj.pk}/", {"version": 1, "polygons": MOVED}
        )
        assert status == 200
        seen["object"] = await reviewer_socket.next("object_changed")
        await annotator_socket.close()
        await database_sync_to_async(batch_submit)(batch=world.batch, by=world.users["annotator"])
        seen["submitted"] = await reviewer_socket.next("image_changed")
        status, _ = await rest(world, "reviewer", "post", f"/api/images/{image.pk}/review", {"decision": "reject"})
        assert status == 200
        seen["rejected"] = await reviewer_socket.next("image_changed", image={**seen["submitted"]["image"],
                                                                             "status": "rejected"})  # fmt: skip
        status, _ = await rest(world, "manager", "post", f"/api/images/{image.pk}/comments/", {"text": "look"})
        assert status == 201
        seen["comment"] = await reviewer_socket.next("comment_added")
        await reviewer_socket.close()
        return seen

    seen = run_in_own_loop(scenario)
    assert seen["annotator ready"]["can_edit"] is True
    ready = seen["reviewer ready"]
    assert ready["type"] == "ready" and ready["can_edit"] is False and ready["you"] == you(world, "reviewer")
    assert ready["viewers"] == [{**you(world, "annotator"), "role": "annotator"}]
    assert seen["annotator sees"]["viewers"] == [{**you(world, "reviewer"), "role": "reviewer"}]
    assert (seen["start"], seen["clicks"], seen["lease"]) == ("error:forbidden",) * 3
    assert seen["leases"]["leases"] == [{"object": obj.pk, "holder": you(world, "annotator"), "mine": False}]
    assert seen["object"]["action"] == "updated" and seen["object"]["object"]["polygons"] == MOVED
    assert seen["submitted"]["image"]["status"] == "submitted"
    assert seen["rejected"]["by"] == you(world, "reviewer")
    assert seen["comment"]["comment"]["text"] == "look"


def test_the_annotator_of_a_submitted_batch_opens_the_image_read_only(world: World) -> None:
    batch_submit(batch=world.batch, by=world.users["annotator"])
    socket = annotate(world, "annotator")

    async def scenario() -> tuple[dict[str, Any], str]:
        ready = await socket.open()
        await socket.send(type="start", label=world.label.pk)
        refused = outcome(await socket.error())
        await socket.close()
        return ready, refused

    ready, refused = run_in_own_loop(scenario)
    assert ready["type"] == "ready" and ready["can_edit"] is False
    assert refused == "error:forbidden"
