"""A closed annotate socket leaves nothing behind in the web process: no group membership, no presence, and no
message queued for its channel. The Redis channel layer keeps a message that reaches a channel nobody receives on
any more in its receive buffer for good (one per closed socket: the web processes' memory crept up in the soak,
docs/results/soak_10x15.json); the in-memory layer used here keeps it in `channels` until it expires."""

import asyncio
from typing import Any

import pytest
from channels.layers import get_channel_layer

from backend.collab import selectors
from tests.collab.test_collab_ws import annotate
from tests.conftest import World
from tests.own_loop import run_in_own_loop

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("live_mode")]


async def drained(layer: Any, names: list[str], timeout: float = 30) -> None:
    """Until no message waits for any of the channels ``names`` (their consumers received everything)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while any(name in layer.channels and not layer.channels[name].empty() for name in names):
        assert asyncio.get_running_loop().time() < deadline, f"messages still wait for {names}"
        await asyncio.sleep(0.01)


def test_a_closed_socket_holding_a_lease_leaves_no_message_group_or_presence(world: World) -> None:
    image = world.batched_image
    sockets = [annotate(world, "annotator") for _ in range(3)]

    async def scenario() -> dict[str, Any]:
        layer = get_channel_layer()
        seen: dict[str, Any] = {"queued before": set(layer.channels)}
        names = []
        for socket in sockets:
            members = set(layer.groups.get(f"image.{image.pk}", {}))
            await socket.open()
            names += set(layer.groups[f"image.{image.pk}"]) - members
            await socket.send(type="lease", object=world.obj.pk)  # held by the first; refused to the others
            await socket.next("leases" if socket is sockets[0] else "lease_refused")
        for index, socket in enumerate(sockets):
            await socket.close()
            # The sockets still open have taken what this one's departure sent them before the next closes: a
            # message in flight to a socket as it closes is the channel layer's to keep, not this test's subject.
            await drained(layer, names[index + 1 :])
        seen["queued for closed"] = {name for name in names if name in layer.channels}
        seen["in groups"] = {name for members in layer.groups.values() for name in members if name in names}
        seen["queued after"] = set(layer.channels)
        return seen

    seen = run_in_own_loop(scenario)
    assert seen["queued for closed"] == set()
    assert seen["in groups"] == set()
    assert seen["queued after"] == seen["queued before"]
    assert selectors.project_presence(world.project.pk) == []
