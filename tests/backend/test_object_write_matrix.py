"""Object writes over REST × role × state of the image's batch: the same rule as the websocket's
(tests/interactive/test_ws_permissions.py), from `backend.images.selectors.edit_refusal`.

An image the reviewer accepted stays accepted while the rest of its batch goes back to the annotator: the
annotator can no longer change it (403 saying so); managers still can.
"""

import pytest

from backend.annotations.models import AnnotationObject
from backend.annotations.services import object_delete
from backend.images.models import Batch, BatchStatus, Image, ImageStatus
from tests.conftest import BATCH_STATES, SQUARE, World, set_batch_state

STATES = list(BATCH_STATES)
MOVED = [{"outer": [[12, 12], [42, 12], [42, 32], [12, 32]], "holes": []}]


def create(client, w: World):
    return client.post(
        f"/api/images/{w.batched_image.pk}/objects/", {"label": w.label.pk, "polygons": SQUARE}, format="json"
    )


def update(client, w: World):
    return client.patch(f"/api/objects/{w.obj.pk}/", {"version": 1, "polygons": MOVED}, format="json")


def delete(client, w: World):
    return client.delete(f"/api/objects/{w.obj.pk}/?version=1")


def restore(client, w: World):
    return client.post(f"/api/objects/{w.obj.pk}/restore/", {"version": 1}, format="json")


WRITES = {"create": (create, 201), "update": (update, 200), "delete": (delete, 204), "restore": (restore, 201)}


def expected(role: str, state: str, ok: int) -> int:
    if role in {"admin", "manager"} or (role == "annotator" and state in {"open", "rejected"}):
        return ok
    return 404 if role == "outsider" else 403


@pytest.mark.parametrize("write", list(WRITES))
@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("role", ["admin", "manager", "annotator", "reviewer", "outsider"])
def test_object_writes_per_role_and_batch_state(world: World, role: str, state: str, write: str) -> None:
    if write == "restore":
        object_delete(obj=world.obj, author=world.users["annotator"], version=1)
    set_batch_state(world.batched_image, state)
    before = list(AnnotationObject.objects.values_list("id", "version").order_by("id"))
    call, ok = WRITES[write]
    response = call(world.client(role), world)
    assert response.status_code == expected(role, state, ok), response.content
    if response.status_code >= 400:
        assert list(AnnotationObject.objects.values_list("id", "version").order_by("id")) == before


def test_an_accepted_image_in_a_rejected_batch_says_why_it_cannot_be_edited(world: World) -> None:
    Batch.objects.filter(pk=world.batch.pk).update(status=BatchStatus.REJECTED)
    Image.objects.filter(pk=world.batched_image.pk).update(status=ImageStatus.ACCEPTED)
    response = update(world.client("annotator"), world)
    assert response.status_code == 403
    assert "accepted" in response.json()["detail"]
    world.batched_image.refresh_from_db()
    assert world.batched_image.status == ImageStatus.ACCEPTED
