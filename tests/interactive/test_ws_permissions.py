"""Who may do what on the annotation websocket, message by message, in every state of the image's batch.

Anyone who may see the image (the REST API's `get_image_for`: managers, the batch's annotator and reviewer) may
open the socket; `ready.can_edit` says whether they may edit it now, else the socket is read-only (presence and
live changes). Editing follows the REST API's rule (`backend.images.selectors.edit_refusal`): managers always; the
batch's annotator while the batch is open or rejected back to them, except on images already accepted. Every
message that changes anything re-checks it, so a socket opened while the batch was open cannot edit it once
submitted or accepted, and a read-only socket never can.
"""

from pathlib import Path

import pytest
from channels.db import database_sync_to_async

from backend.annotations.services import object_create
from backend.images.models import Image
from backend.interactive.consumer import AnnotateConsumer
from tests.conftest import BATCH_STATES, SQUARE, World, set_batch_state
from tests.interactive.inprocess import Socket, outcome
from tests.live_stack import token_for
from tests.own_loop import run_in_own_loop

pytestmark = pytest.mark.usefixtures("model_loading")
committed = pytest.mark.django_db(transaction=True)  # the socket reads the database from threads of its own

CENTRE = {"x": 100, "y": 75, "positive": True}

STATES = list(BATCH_STATES)
ROLES = ["admin", "manager", "annotator", "reviewer", "outsider"]


def may_edit(role: str, state: str) -> bool:
    return role in {"admin", "manager"} or (role == "annotator" and state in {"open", "rejected"})


def connect_outcome(role: str, state: str) -> str:
    if role == "outsider":
        return "error:not_found"
    return "ready (can edit)" if may_edit(role, state) else "ready (read-only)"


# Every message type and what it answers when the caller may edit the image now / may not edit it now (a socket
# opened while they could, with an object started and a lease taken then) / a socket that was read-only from the
# start (a reviewer: no object could be started). Objects are saved over REST (whose matrix is
# tests/backend/test_permission_matrix.py): the socket only computes masks.
MESSAGES = {
    "ping": ("pong", "pong", "pong"),
    "clicks": ("mask", "error:forbidden", "error:forbidden"),
    "options": ("mask", "error:forbidden", "error:forbidden"),
    "start": ("started", "error:forbidden", "error:forbidden"),
    "start with clicks": ("mask", "error:forbidden", "error:forbidden"),
    # Dropping the object under way changes nothing on the server; without one there is nothing to drop.
    "cancel": ("cancelled", "cancelled", "error:no_object"),
    # Teamwork: a lease needs the right to edit; giving one up never does (answered by the lease list), nor does a
    # heartbeat (presence; it answers nothing, so the ping after it is what is seen).
    "release": ("leases", "leases", "leases"),
    "lease": ("leases", "error:forbidden", "error:forbidden"),
    "heartbeat then ping": ("pong", "pong", "pong"),
}


def test_the_matrix_names_every_message_type() -> None:
    handled = {name.removeprefix("on_") for name in dir(AnnotateConsumer) if name.startswith("on_")}
    assert handled == {kind.split()[0] for kind in MESSAGES}, "a message type without rows in the permission matrix"


def socket_for(world: World, who: str, image: Image) -> Socket:
    return Socket(image.pk, None if who == "anonymous" else token_for(world.users[who]))


@committed
def test_who_may_open_a_socket(world, disk) -> None:
    async def connect_all(sockets: dict[str, Socket]) -> dict[str, str]:
        seen = {}
        for role, socket in sockets.items():
            first = await socket.open()
            seen[role] = outcome(first)
            if first["type"] == "ready":
                seen[role] += " (can edit)" if first["can_edit"] else " (read-only)"
            if first["type"] == "error":
                seen[role] += f" (closed {await socket.close_code()})"
            await socket.close()
        return seen

    close_codes = {"error:not_found": 4404}
    seen, expected = {}, {}
    for state in STATES:
        set_batch_state(disk, state)
        sockets = {role: socket_for(world, role, disk) for role in [*ROLES, "anonymous"]}
        seen[state] = run_in_own_loop(lambda sockets=sockets: connect_all(sockets))
        expected[state] = {}
        for role in ROLES:
            want = connect_outcome(role, state)
            expected[state][role] = want if want.startswith("ready") else f"{want} (closed {close_codes[want]})"
        expected[state]["anonymous"] = "error:unauthenticated (closed 4401)"
    assert seen == expected


@committed
@pytest.mark.parametrize("role", ["manager", "annotator", "reviewer"])
def test_every_message_checks_the_right_to_edit_the_image_as_it_is_now(world, disk, role) -> None:
    """For each state of the batch: a socket opens while the batch is open (and, if it may, starts an object and
    takes a lease), then the batch moves to that state, and each message type is tried."""

    async def scenario(socket: Socket, state: str) -> dict[str, str]:
        await database_sync_to_async(set_batch_state)(disk, "open")
        ready = await socket.open()
        assert ready["type"] == "ready" and ready["can_edit"] == may_edit(role, "open")
        await socket.send(type="start", label=world.label.pk)
        assert outcome(await socket.until("started")) == ("started" if ready["can_edit"] else "error:forbidden")
        await socket.send(type="lease", object=obj.pk)
        assert outcome(await socket.until("leases")) == ("leases" if ready["can_edit"] else "error:forbidden")
        await database_sync_to_async(set_batch_state)(disk, state)
        seen = {}
        await socket.send(type="ping")
        seen["ping"] = outcome(await socket.until("pong"))
        await socket.send(type="clicks", seq=1, clicks=[])  # a mask without a forward pass: the check is what counts
        seen["clicks"] = outcome(await socket.answer(1))
        await socket.send(type="options", seq=2, threshold=0.6)
        seen["options"] = outcome(await socket.answer(2))
        await socket.send(type="start", label=world.label.pk, clicks=[CENTRE], seq=3)
        seen["start with clicks"] = outcome(await socket.until("mask"))
        await socket.send(type="start", label=world.label.pk)
        seen["start"] = outcome(await socket.until("started"))
        await socket.send(type="cancel")
        seen["cancel"] = outcome(await socket.until("cancelled"))
        await socket.send(type="release", object=obj.pk)  # the lease taken while the batch was open
        seen["release"] = outcome(await socket.until("leases"))
        await socket.send(type="lease", object=obj.pk)
        seen["lease"] = outcome(await socket.until("leases"))
        await socket.send(type="heartbeat")
        await socket.send(type="ping")
        seen["heartbeat then ping"] = outcome(await socket.until("pong", "leases"))
        await socket.close()
        return seen

    obj = object_create(image=disk, author=world.users["annotator"], label_id=world.label.pk, polygons=SQUARE)
    token = token_for(world.users[role])
    seen = {state: run_in_own_loop(lambda state=state: scenario(Socket(disk.pk, token), state)) for state in STATES}
    column = lambda state: 0 if may_edit(role, state) else 1 if may_edit(role, "open") else 2  # noqa: E731
    expected = {state: {kind: answers[column(state)] for kind, answers in MESSAGES.items()} for state in STATES}
    assert seen == expected


@committed
def test_the_socket_offers_and_accepts_only_the_projects_models(world, disk, tmp_path, monkeypatch) -> None:
    """General models and the project's own fine-tuned versions; never another project's."""
    registry = tmp_path / "var" / "models"
    registry.mkdir(parents=True)
    real = Path(__file__).resolve().parents[2] / "var" / "models" / "hrnet18-ocr64-cocolvis.pt"
    own = f"hrnet18-ocr64-cocolvis-p{world.project.pk}-v1"
    foreign = f"hrnet18-ocr64-cocolvis-p{world.project.pk + 1000}-v1"
    for name in ("hrnet18-ocr64-cocolvis", own, foreign):
        (registry / f"{name}.pt").symlink_to(real)
    monkeypatch.setenv("EDGEFLOW_VAR_DIR", str(tmp_path / "var"))
    socket = socket_for(world, "annotator", disk)

    async def scenario() -> tuple[list[str], str, str]:
        ready = await socket.open()
        await socket.send(type="start", label=world.label.pk, model=foreign)
        refused = outcome(await socket.until("started"))
        await socket.send(type="start", label=world.label.pk, model=own)
        accepted = outcome(await socket.until("started"))
        await socket.close()
        return ready["models"], refused, accepted

    models, refused, accepted = run_in_own_loop(scenario)
    assert sorted(models) == sorted(["hrnet18-ocr64-cocolvis", own])
    assert (refused, accepted) == ("error:unknown_model", "started")


@committed
def test_a_click_refused_while_its_mask_is_computed_never_gets_the_mask(world, disk) -> None:
    """The edit right is checked while the job is submitted (not before it): a refusal found then withholds the mask
    that job computes, and the next message is checked before anything is computed."""
    socket = socket_for(world, "annotator", disk)

    async def scenario() -> list[dict]:
        await database_sync_to_async(set_batch_state)(disk, "open")
        assert (await socket.open())["type"] == "ready"
        await socket.send(type="start", label=world.label.pk)
        await socket.until("started")
        await socket.send(type="clicks", seq=1, clicks=[CENTRE])
        assert (await socket.answer(1))["type"] == "mask"
        await database_sync_to_async(set_batch_state)(disk, "submitted")
        await socket.send(type="clicks", seq=2, clicks=[CENTRE, {"x": 20, "y": 20, "positive": False}])
        refused = await socket.answer(2)
        await socket.send(type="clicks", seq=3, clicks=[CENTRE])  # checked first: refused without a job
        assert outcome(await socket.answer(3)) == "error:forbidden"
        await database_sync_to_async(set_batch_state)(disk, "open")
        # seq 4 runs only after seq 2's job has answered (one job in flight per object): its mask proves that
        # answer was handled — and dropped.
        await socket.send(type="clicks", seq=4, clicks=[CENTRE, {"x": 30, "y": 30, "positive": False}])
        assert (await socket.answer(4))["type"] == "mask"
        await socket.close()
        return [refused, *socket.replies]

    refused, *replies = run_in_own_loop(scenario)
    assert outcome(refused) == "error:forbidden" and refused["seq"] == 2
    assert [r["type"] for r in replies if r.get("seq") == 2] == ["error"]
