"""Leases over REST: a write while another user holds the object's lease is 423 (with the holder); one's own
lease, in any tab, never stops one's saves; only managers and admins break a lease."""

import pytest

from backend.annotations.services import object_delete
from backend.collab.colours import person
from backend.collab.leases import Lease, lease_store
from tests.conftest import World

pytestmark = pytest.mark.usefixtures("live_mode")

MOVED = [{"outer": [[12, 12], [42, 12], [42, 32], [12, 32]], "holes": []}]


def hold(world: World, who: str, connection: str = "conn-1") -> Lease:
    user = world.users[who]
    lease = Lease(world.obj.pk, world.batched_image.pk, connection, user.pk, user.username)
    assert lease_store().take(lease, 60) == lease
    return lease


def test_writes_meet_423_while_another_user_edits_the_object(world: World) -> None:
    hold(world, "annotator")
    manager = world.client("manager")
    url = f"/api/objects/{world.obj.pk}/"
    for response in (
        manager.patch(url, {"version": 1, "polygons": MOVED}, format="json"),
        manager.delete(f"{url}?version=1"),
    ):
        assert response.status_code == 423, response.content
        annotator = world.users["annotator"]
        assert response.json() == {
            "error": "object_leased",
            "code": "object_leased",
            "detail": "annotator is editing this object.",
            "holder": person(annotator.pk, "annotator"),
        }
    world.obj.refresh_from_db()
    assert world.obj.version == 1
    # the holder's own save (from this or another tab) goes through; versions stay the guarantee
    assert world.client("annotator").patch(url, {"version": 1, "polygons": MOVED}, format="json").status_code == 200
    assert world.client("annotator").patch(url, {"version": 1, "polygons": MOVED}, format="json").status_code == 409


def test_a_restore_meets_423_too_and_403_comes_first(world: World) -> None:
    object_delete(obj=world.obj, author=world.users["manager"], version=1)
    hold(world, "manager")
    restore = f"/api/objects/{world.obj.pk}/restore/"
    assert world.client("annotator").post(restore, {"version": 1}, format="json").status_code == 423
    assert world.client("reviewer").post(restore, {"version": 1}, format="json").status_code == 403
    assert world.client("outsider").post(restore, {"version": 1}, format="json").status_code == 404
    assert world.client("admin").post(restore, {"version": 1}, format="json").status_code == 423
    assert world.client("manager").post(restore, {"version": 1}, format="json").status_code == 201


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 204), ("manager", 204), ("annotator", 403), ("reviewer", 403), ("outsider", 404), ("anonymous", 401)],
)
def test_only_managers_break_a_lease(world: World, who: str, status: int) -> None:
    lease = hold(world, "annotator")
    response = world.client(who).delete(f"/api/objects/{world.obj.pk}/lease/")
    assert response.status_code == status, response.content
    assert lease_store().get(world.obj.pk) == (None if status == 204 else lease)


def test_breaking_no_lease_is_404(world: World) -> None:
    response = world.client("manager").delete(f"/api/objects/{world.obj.pk}/lease/")
    assert response.status_code == 404 and response.json()["error"] == "no_lease"
    assert world.client("manager").delete("/api/objects/999999/lease/").status_code == 404
