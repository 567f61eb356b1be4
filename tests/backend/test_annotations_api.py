"""Annotation objects: geometry derived from polygons, optimistic concurrency (409), revision history."""

import pytest

from backend.annotations.models import AnnotationObject, AnnotationRevision
from tests.conftest import SQUARE, World

RING_WITH_HOLE = [{"outer": [[0, 0], [40, 0], [40, 40], [0, 40]], "holes": [[[10, 10], [30, 10], [30, 30], [10, 30]]]}]


def create(world: World, polygons, who: str = "annotator", label=None):
    return world.client(who).post(
        f"/api/images/{world.batched_image.pk}/objects/",
        {"label": label or world.label.pk, "polygons": polygons, "source": "interactive", "clicks_used": 3},
        format="json",
    )


def test_create_derives_mask_bbox_and_area_from_polygons(world: World) -> None:
    response = create(world, SQUARE)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["version"] == 1 and body["source"] == "interactive" and body["clicks_used"] == 3
    assert body["bbox"] == [10.0, 10.0, 31.0, 21.0]
    assert body["mask_rle"]["size"] == [48, 64]
    assert body["area"] == 31 * 21


def test_holes_are_kept_and_cut_out_of_the_mask(world: World) -> None:
    body = create(world, RING_WITH_HOLE).json()
    assert body["polygons"][0]["holes"] == RING_WITH_HOLE[0]["holes"]
    full = create(world, [{"outer": RING_WITH_HOLE[0]["outer"], "holes": []}]).json()
    assert full["area"] - body["area"] >= 19 * 19


def test_a_create_retried_with_its_client_key_returns_the_first_object(world: World) -> None:
    url = f"/api/images/{world.batched_image.pk}/objects/"
    body = {"label": world.label.pk, "polygons": SQUARE, "client_key": "n3f1c"}
    first = world.client("annotator").post(url, body, format="json")
    again = world.client("annotator").post(url, {**body, "polygons": RING_WITH_HOLE}, format="json")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"] and again.json()["polygons"] == first.json()["polygons"]
    assert AnnotationObject.objects.filter(client_key="n3f1c").count() == 1
    assert AnnotationRevision.objects.filter(object_id=first.json()["id"]).count() == 1
    other = world.client("annotator").post(url, {**body, "client_key": "n3f1d"}, format="json")
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    too_long = world.client("annotator").post(url, {**body, "client_key": "k" * 65}, format="json")
    assert too_long.status_code == 400


@pytest.mark.parametrize(
    ("polygons", "code"),
    [
        ([{"outer": [[1, 1], [5, 5]], "holes": []}], "bad_polygon"),
        ([{"outer": [[1, 1], [5, 5], [500, 5]], "holes": []}], "polygon_outside_image"),
        ([{"outer": [[1, 1], [5, 5], [-1, 5]], "holes": []}], "polygon_outside_image"),
        ([{"outer": [[1, 1], [2, 2], [3, 3]], "holes": []}], "empty_polygon"),
        ([], "bad_polygon"),
        ("square", "bad_polygon"),
        ([{"outer": [[1, 1], [5, "x"], [9, 1]]}], "bad_polygon"),
    ],
)
def test_bad_polygons_are_refused_with_a_reason(world: World, polygons, code: str) -> None:
    before = AnnotationObject.objects.count()
    response = create(world, polygons)
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert AnnotationObject.objects.count() == before


def test_unknown_or_foreign_label_is_refused(world: World) -> None:
    from backend.projects.services import label_create, project_create

    other = project_create(name="Other", created_by=world.users["outsider"])
    foreign = label_create(project=other, name="x")
    assert create(world, SQUARE, label=foreign.pk).json()["error"] == "unknown_label"
    assert create(world, SQUARE, label=999999).status_code == 400


def test_update_with_current_version_bumps_version_and_records_revision(world: World) -> None:
    url = f"/api/objects/{world.obj.pk}/"
    moved = [{"outer": [[20, 20], [50, 20], [50, 40]], "holes": []}]
    response = world.client("annotator").patch(url, {"version": 1, "polygons": moved}, format="json")
    assert response.status_code == 200
    assert response.json()["version"] == 2
    revisions = world.client("reviewer").get(f"{url}revisions/").json()
    assert [(r["version"], r["action"]) for r in revisions] == [(1, "create"), (2, "update")]
    assert revisions[1]["snapshot"]["polygons"][0]["outer"][0] == [20.0, 20.0]


def test_stale_save_gets_409_with_the_current_state_and_changes_nothing(world: World) -> None:
    url = f"/api/objects/{world.obj.pk}/"
    first = world.client("annotator").patch(url, {"version": 1, "label": world.spare_label.pk}, format="json")
    assert first.status_code == 200
    stale = world.client("manager").patch(url, {"version": 1, "polygons": SQUARE}, format="json")
    assert stale.status_code == 409
    body = stale.json()
    assert body["error"] == "stale_version"
    assert body["details"]["current"]["version"] == 2
    assert body["details"]["current"]["label"] == world.spare_label.pk
    world.obj.refresh_from_db()
    assert world.obj.version == 2 and AnnotationRevision.objects.filter(object_id=world.obj.pk).count() == 2


def test_update_without_version_is_refused(world: World) -> None:
    response = world.client("annotator").patch(f"/api/objects/{world.obj.pk}/", {"label": 1}, format="json")
    assert response.status_code == 400


def test_delete_needs_the_current_version_and_history_survives(world: World) -> None:
    url = f"/api/objects/{world.obj.pk}/"
    assert world.client("annotator").delete(f"{url}?version=7").status_code == 409
    assert world.client("annotator").delete(url).status_code == 400
    assert world.client("annotator").delete(f"{url}?version=1").status_code == 204
    history = AnnotationRevision.objects.filter(object_id=world.obj.pk).order_by("version")
    assert [r.action for r in history] == ["create", "delete"]


def test_annotator_cannot_edit_after_submitting_the_batch(world: World) -> None:
    assert world.client("annotator").post(f"/api/batches/{world.batch.pk}/submit").status_code == 200
    assert create(world, SQUARE).status_code == 403


def test_comments_carry_position_and_object(world: World) -> None:
    url = f"/api/images/{world.batched_image.pk}/comments/"
    body = {"text": "edge is off", "object": world.obj.pk, "x": 12.5, "y": 30}
    created = world.client("reviewer").post(url, body, format="json")
    assert created.status_code == 201
    assert created.json()["object"] == world.obj.pk and created.json()["author_name"] == "reviewer"
    bad = world.client("reviewer").post(url, {"text": "x", "x": 5000, "y": 1}, format="json")
    assert bad.status_code == 400 and bad.json()["error"] == "bad_position"
    assert world.client("reviewer").post(url, {"text": "  "}, format="json").status_code == 400


def test_comments_on_a_deleted_object_come_back_with_its_restore(world: World) -> None:
    url = f"/api/images/{world.obj.image_id}/comments/"
    assert (
        world.client("reviewer").post(url, {"text": "tail missing", "object": world.obj.pk}, format="json").status_code
        == 201
    )
    annotator = world.client("annotator")
    assert annotator.delete(f"/api/objects/{world.obj.pk}/?version=1").status_code == 204
    [detached] = world.client("reviewer").get(url).json()
    assert detached["object"] is None and detached["detached_from_object_id"] == world.obj.pk
    assert annotator.post(f"/api/objects/{world.obj.pk}/restore/", {"version": 1}, format="json").status_code == 201
    [attached] = world.client("reviewer").get(url).json()
    assert attached["object"] == world.obj.pk and attached["detached_from_object_id"] is None


def test_numbers_too_large_for_the_database_are_refused_not_crashed_on(world: World) -> None:
    url = f"/api/images/{world.batched_image.pk}/objects/"
    body = {"label": world.label.pk, "polygons": SQUARE, "clicks_used": 10**30}
    response = world.client("annotator").post(url, body, format="json")
    assert response.status_code == 400 and "clicks_used" in response.json()
    label = world.client("manager").post(f"/api/projects/{world.project.pk}/labels/", {"name": "x", "order": 10**12})
    assert label.status_code == 400 and "order" in label.json()


def test_a_deleted_object_is_restored_with_its_id_and_history(world: World) -> None:
    annotator = world.client("annotator")
    world.obj.client_key = "tab-7"
    world.obj.save(update_fields=["client_key"])
    assert (
        annotator.patch(
            f"/api/objects/{world.obj.pk}/", {"version": 1, "label": world.spare_label.pk}, format="json"
        ).status_code
        == 200
    )
    assert annotator.delete(f"/api/objects/{world.obj.pk}/?version=2").status_code == 204
    restore = f"/api/objects/{world.obj.pk}/restore/"
    assert annotator.post(restore, {"version": 1}, format="json").status_code == 409  # not what was deleted
    response = annotator.post(restore, {"version": 2}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] == world.obj.pk and body["version"] == 4 and body["label"] == world.spare_label.pk
    assert body["polygons"] == AnnotationObject.objects.get(pk=world.obj.pk).polygons and body["client_key"] == "tab-7"
    history = AnnotationRevision.objects.filter(object_id=world.obj.pk).order_by("version")
    assert [r.action for r in history] == ["create", "update", "delete", "restore"]
    again = annotator.post(restore, {"version": 2}, format="json")
    assert again.status_code == 409 and again.json()["error"] == "not_deleted"
    assert annotator.post("/api/objects/987654/restore/", {"version": 1}, format="json").status_code == 404


def test_a_restore_whose_label_was_deleted_is_a_conflict(world: World) -> None:
    from backend.projects.services import label_delete

    annotator = world.client("annotator")
    assert (
        annotator.patch(
            f"/api/objects/{world.obj.pk}/", {"version": 1, "label": world.spare_label.pk}, format="json"
        ).status_code
        == 200
    )
    assert annotator.delete(f"/api/objects/{world.obj.pk}/?version=2").status_code == 204
    label_delete(label=world.spare_label)
    response = annotator.post(f"/api/objects/{world.obj.pk}/restore/", {"version": 2}, format="json")
    assert response.status_code == 409 and response.json()["error"] == "label_gone"
