"""A `lease` on an object that is not (or no longer) saved on the image is refused with `unknown_object` and
changes nothing: the connection keeps the lease it held (an object deleted by someone else a moment before is
an everyday race). It used to release that lease in the store while the socket still believed it held it: the
others could take the object, and the holder was told a moment later that its lease had "expired"."""

from typing import Any

import pytest

from backend.annotations.services import object_create, object_delete
from tests.collab.test_collab_ws import annotate, you
from tests.conftest import SQUARE, World
from tests.own_loop import run_in_own_loop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_mode")]


def test_a_lease_on_a_deleted_object_keeps_the_lease_held(world: World, settings) -> None:
    settings.LEASE_HEARTBEAT_S = 0.1  # the sockets re-check their leases often: a lost one would show at once
    obj = world.obj
    gone = object_create(image=world.batched_image, author=world.users["manager"], label_id=world.label.pk,
                         polygons=SQUARE)  # fmt: skip
    object_delete(obj=gone, author=world.users["manager"], version=1)
    a, b = annotate(world, "annotator"), annotate(world, "manager")
    held = [{"object": obj.pk, "holder": you(world, "annotator"), "mine": False}]

    async def scenario() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        await a.open()
        await b.open()
        await a.send(type="lease", object=obj.pk)
        await a.next("leases")
        await b.next("leases", leases=held)
        await a.send(type="lease", object=gone.pk)
        seen["unknown"] = await a.error()
        await a.send(type="heartbeat")
        await b.send(type="lease", object=obj.pk)
        seen["b refused"] = await b.next("lease_refused")
        await a.send(type="release", object=obj.pk)
        seen["a released"] = await a.next("leases", leases=[])
        await b.next("leases", leases=[])
        await a.close()
        await b.close()
        return seen

    seen = run_in_own_loop(scenario)
    assert seen["unknown"]["code"] == "unknown_object"
    assert seen["b refused"]["holder"] == you(world, "annotator")
    assert not [r for r in a.replies if r["type"] == "lease_lost"], a.replies
