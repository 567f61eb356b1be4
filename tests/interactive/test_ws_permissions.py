"""Who may do what on the annotation websocket, message by message, in every state of the image's batch.

The rule is the REST API's (`backend.images.selectors.edit_refusal`): managers always; the batch's annotator while
the batch is open or rejected back to them, except on images already accepted. Every message that changes the
object re-checks it, so a socket opened while the batch was open cannot edit it once submitted or accepted.
"""

from pathlib import Path

import pytest
from channels.db import database_sync_to_async

from backend.annotations.models import AnnotationObject
from backend.annotations.services import object_create
from backend.images.models import Batch, BatchStatus, Image, ImageStatus
from backend.images.services import batches_create
from backend.interactive.consumer import AnnotateConsumer
from tests.conftest import BATCH_STATES, SQUARE, World, set_batch_state
from tests.interactive.inprocess import Socket, outcome
from tests.live_stack import token_for
from tests.own_loop import run_in_own_loop

pytestmark = pytest.mark.django_db(transaction=True)

CENTRE = {"x": 100, "y": 75}

STATES = list(BATCH_STATES)
ROLES = ["admin", "manager", "annotator", "reviewer", "outsider"]


def may_edit(role: str, state: str) -> bool:
    return role in {"admin", "manager"} or (role == "annotator" and state in {"open", "rejected"})


def connect_outcome(role: str, state: str) -> str:
    if role == "outsider":
        return "error:not_found"
    return "ready" if may_edit(role, state) else "error:forbidden"


# Every message type and what it answers when the caller may edit / may not edit the image now.
MESSAGES = {
    "ping": ("pong", "pong"),
    "click": ("mask", "error:forbidden"),
    "undo": ("mask", "error:forbidden"),
    "redo": ("mask", "error:forbidden"),
    "options": ("mask", "error:forbidden"),
    "finish": ("saved", "error:forbidden"),
    "start": ("started", "error:forbidden"),
    "reset": ("mask", "error:forbidden"),
    "cancel": ("cancelled", "cancelled"),
}


def test_the_matrix_names_every_message_type() -> None:
    handled = {name.removeprefix("on_") for name in dir(AnnotateConsumer) if name.startswith("on_")}
    assert handled == set(MESSAGES), "a message type without rows in the permission matrix"


def socket_for(world: World, who: str, image: Image) -> Socket:
    return Socket(image.pk, None if who == "anonymous" else token_for(world.users[who]))


@pytest.mark.parametrize("state", STATES)
def test_who_may_open_a_socket(world, disk, state) -> None:
    set_batch_state(disk, state)
    sockets = {role: socket_for(world, role, disk) for role in [*ROLES, "anonymous"]}

    async def connect_all() -> dict[str, str]:
        seen = {}
        for role, socket in sockets.items():
            first = await socket.open()
            seen[role] = outcome(first)
            if first["type"] == "error":
                seen[role] += f" (closed {await socket.close_code()})"
            await socket.close()
        return seen

    close_codes = {"error:forbidden": 4403, "error:not_found": 4404}
    expected = {}
    for role in ROLES:
        want = connect_outcome(role, state)
        expected[role] = want if want == "ready" else f"{want} (closed {close_codes[want]})"
    expected["anonymous"] = "error:unauthenticated (closed 4401)"
    assert run_in_own_loop(connect_all) == expected


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ["manager", "annotator"])
def test_every_message_checks_the_right_to_edit_the_image_as_it_is_now(world, disk, role, state) -> None:
    """The socket opens while the batch is open; then the batch moves to `state`, and each message type is tried."""
    set_batch_state(disk, "open")
    socket = socket_for(world, role, disk)

    async def scenario() -> dict[str, str]:
        assert (await socket.open())["type"] == "ready"
        await socket.send(type="start", label=world.label.pk, clicks=[{**CENTRE, "positive": True}], seq=1)
        assert (await socket.until("mask"))["seq"] == 1
        await database_sync_to_async(set_batch_state)(disk, state)
        seen = {}
        await socket.send(type="ping")
        seen["ping"] = outcome(await socket.until("pong"))
        for seq, (kind, extra) in enumerate(
            [("click", {**CENTRE, "positive": True}), ("undo", {}), ("redo", {}), ("options", {"threshold": 0.6})],
            start=2,
        ):
            await socket.send(type=kind, seq=seq, **extra)
            seen[kind] = outcome(await socket.until("mask"))
        await socket.send(type="finish", client_key=f"{role}-{state}")
        seen["finish"] = outcome(await socket.until("saved"))
        await socket.send(type="start", label=world.label.pk)
        seen["start"] = outcome(await socket.until("started"))
        await socket.send(type="reset", seq=6)
        seen["reset"] = outcome(await socket.until("mask"))
        await socket.send(type="cancel")
        seen["cancel"] = outcome(await socket.until("cancelled"))
        await socket.close()
        return seen

    allowed = may_edit(role, state)
    expected = {kind: answers[0 if allowed else 1] for kind, answers in MESSAGES.items()}
    assert run_in_own_loop(scenario) == expected
    saved = AnnotationObject.objects.filter(image=disk, client_key=f"{role}-{state}").exists()
    assert saved == allowed


def test_resegmenting_an_object_of_another_image_is_refused_like_over_rest(world, disk) -> None:
    """A socket for an image the annotator may edit cannot start (or save) an object of another image — here one
    in an accepted batch of theirs, which REST also refuses to change."""
    (accepted_batch,) = batches_create(
        project=world.project, image_ids=[world.free_image.pk], assignee_id=world.users["annotator"].pk
    )
    foreign = object_create(
        image=world.free_image, author=world.users["manager"], label_id=world.label.pk, polygons=SQUARE
    )
    Batch.objects.filter(pk=accepted_batch.pk).update(status=BatchStatus.ACCEPTED)
    Image.objects.filter(pk=world.free_image.pk).update(status=ImageStatus.ACCEPTED)
    rest = world.client("annotator").patch(
        f"/api/objects/{foreign.pk}/", {"version": 1, "polygons": SQUARE}, format="json"
    )
    assert rest.status_code == 403
    own = AnnotationObject.objects.get(pk=world.obj.pk)
    socket = socket_for(world, "annotator", disk)
    on_image = socket_for(world, "annotator", world.batched_image)

    async def scenario() -> tuple[str, str, str]:
        assert (await socket.open())["type"] == "ready"
        clicks = [{**CENTRE, "positive": True}]
        await socket.send(type="start", label=world.label.pk, object=foreign.pk, version=1, clicks=clicks, seq=1)
        refused = outcome(await socket.until("started"))
        # an object of this image is also refused on another image's socket
        await socket.send(type="start", label=world.label.pk, object=own.pk, version=own.version, clicks=clicks, seq=2)
        refused_own_elsewhere = outcome(await socket.until("started"))
        await socket.close()
        # on its own image's socket, re-segmenting works
        assert (await on_image.open())["type"] == "ready"
        await on_image.send(type="start", label=world.label.pk, object=own.pk, version=own.version)
        started = outcome(await on_image.until("started"))
        await on_image.close()
        return refused, refused_own_elsewhere, started

    assert run_in_own_loop(scenario) == ("error:unknown_object", "error:unknown_object", "started")
    foreign.refresh_from_db()
    assert foreign.version == 1 and foreign.author == world.users["manager"]


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
