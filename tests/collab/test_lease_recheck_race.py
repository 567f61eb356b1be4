"""The socket's periodic re-check runs beside the messages it handles: a re-check that read the lease of object
X while a `lease` of Y was moving the connection's lease from X to Y must not take the connection's new lease on
Y for an expired one. It did: the socket forgot Y (the client was told `lease_lost` Y, "expired") while the
store kept Y for the connection — and kept it after the socket closed, until its TTL (the fuzz test of teamwork,
tests/collab/test_collab_fuzz.py, met such an orphan lease)."""

from typing import Any

import pytest

from backend.annotations.services import object_create
from backend.collab.leases import lease_store
from tests.collab.test_collab_ws import annotate
from tests.conftest import SQUARE, World
from tests.own_loop import run_in_own_loop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_mode")]

MOVES = 60


def test_moving_a_lease_back_and_forth_under_constant_rechecks_leaves_nothing_behind(world: World, settings) -> None:
    settings.LEASE_HEARTBEAT_S = 0.002  # the re-check runs all the time, beside every `lease`
    settings.LEASE_TTL_S = 60
    objects = [world.obj.pk]
    objects.append(object_create(image=world.batched_image, author=world.users["manager"], label_id=world.label.pk,
                                 polygons=SQUARE).pk)  # fmt: skip
    a = annotate(world, "annotator")

    async def scenario() -> list[dict[str, Any]]:
        await a.open()
        for move in range(MOVES):
            target = objects[move % 2]
            await a.send(type="lease", object=target)
            while True:  # the grant: the list naming this connection's lease on the target
                reply = await a.recv(20)
                assert reply["type"] != "error", reply
                if reply["type"] == "leases" and {"object": target, "mine": True} in [
                    {"object": item["object"], "mine": item["mine"]} for item in reply["leases"]
                ]:
                    break
        await a.close()
        return a.replies

    replies = run_in_own_loop(scenario)
    lost = [r for r in replies if r["type"] == "lease_lost"]
    assert not lost, f"told a lease was lost while it only moved: {lost}"
    assert [lease_store().get(pk) for pk in objects] == [None, None], "a lease outlived its socket"
