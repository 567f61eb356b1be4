"""Who made an object and who changed it: the creator stays `author` on every change (update, relabel, restore),
`last_editor` is the newest editor, each revision keeps its own editor, and the project's statistics count
objects created and objects of others edited separately (issue 12, defect 3)."""

from importlib import import_module

from django.apps import apps

from backend.annotations.models import AnnotationObject, AnnotationRevision
from backend.annotations.services import object_create, object_delete, object_restore, object_update, objects_relabel
from backend.images.models import Image
from tests.conftest import SQUARE, World

DRAGGED = [{"outer": [[10, 10], [44, 10], [40, 30], [10, 30]], "holes": []}]  # one vertex of SQUARE moved


def people(world: World) -> dict[str, dict]:
    response = world.client("manager").get(f"/api/projects/{world.project.pk}/statistics/")
    assert response.status_code == 200
    return {person["username"]: person for person in response.json()["people"]}


def editors(object_id: int) -> list[tuple[str, str | None]]:
    revisions = AnnotationRevision.objects.filter(object_id=object_id).select_related("author").order_by("version")
    return [(r.action, r.author.username if r.author else None) for r in revisions]


def test_a_manager_dragging_a_vertex_leaves_the_credit_with_the_annotator(world: World) -> None:
    before = people(world)["annotator"]
    assert (before["created"], before["objects"], before["edited"]) == (1, 1, 0)
    response = world.client("manager").patch(
        f"/api/objects/{world.obj.pk}/", {"version": 1, "polygons": DRAGGED}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["author_name"], body["last_editor_name"]) == ("annotator", "manager")
    assert body["author"] == world.users["annotator"].pk and body["last_editor"] == world.users["manager"].pk
    after = people(world)
    assert (after["annotator"]["created"], after["annotator"]["objects"], after["annotator"]["edited"]) == (1, 1, 0)
    assert (after["manager"]["created"], after["manager"]["objects"], after["manager"]["edited"]) == (0, 0, 1)
    assert editors(world.obj.pk) == [("create", "annotator"), ("update", "manager")]


def test_a_new_object_has_no_last_editor_and_its_creator_editing_it_is_no_edit(world: World) -> None:
    body = world.client("annotator").get(f"/api/objects/{world.obj.pk}/").json()
    assert (body["author_name"], body["last_editor"], body["last_editor_name"]) == ("annotator", None, None)
    object_update(obj=world.obj, author=world.users["annotator"], version=1, polygons=DRAGGED)
    annotator = people(world)["annotator"]
    assert (annotator["created"], annotator["edited"]) == (1, 0)
    assert AnnotationObject.objects.get(pk=world.obj.pk).last_editor == world.users["annotator"]


def test_edits_count_distinct_objects_of_others_that_still_exist(world: World) -> None:
    manager, annotator = world.users["manager"], world.users["annotator"]
    second = object_create(image=world.batched_image, author=annotator, label_id=world.label.pk, polygons=SQUARE)
    gone = object_create(image=world.batched_image, author=annotator, label_id=world.label.pk, polygons=SQUARE)
    object_update(obj=world.obj, author=manager, version=1, polygons=DRAGGED)
    object_update(obj=world.obj, author=manager, version=2, polygons=SQUARE)  # the same object again: still one
    object_update(obj=second, author=manager, version=1, label_id=world.spare_label.pk)
    object_update(obj=gone, author=manager, version=1, polygons=DRAGGED)
    object_delete(obj=gone, author=annotator, version=2)
    own = object_create(image=world.free_image, author=manager, label_id=world.label.pk, polygons=SQUARE)
    object_update(obj=own, author=manager, version=1, polygons=DRAGGED)
    object_update(obj=own, author=world.users["reviewer"], version=2, polygons=SQUARE)
    stats = people(world)
    assert (stats["manager"]["created"], stats["manager"]["edited"]) == (1, 2)
    assert (stats["annotator"]["created"], stats["annotator"]["edited"]) == (2, 0)
    assert (stats["reviewer"]["created"], stats["reviewer"]["edited"]) == (0, 1)
    assert set(stats["reviewer"]) >= {"images", "accepted", "rejected", "interactive_objects", "mean_clicks", "seconds"}


def test_a_relabel_keeps_author_and_editor_and_counts_for_nobody(world: World) -> None:
    object_update(obj=world.obj, author=world.users["manager"], version=1, polygons=DRAGGED)
    assert objects_relabel(source=world.label, target=world.spare_label) == 1
    obj = AnnotationObject.objects.get(pk=world.obj.pk)
    assert (obj.author, obj.last_editor, obj.label_id) == (world.users["annotator"], world.users["manager"],
                                                           world.spare_label.pk)  # fmt: skip
    assert editors(obj.pk) == [("create", "annotator"), ("update", "manager"), ("update", None)]
    assert people(world)["manager"]["edited"] == 1


def test_a_restore_brings_back_the_creator_and_records_the_restorer(world: World) -> None:
    manager = world.client("manager")
    assert manager.delete(f"/api/objects/{world.obj.pk}/?version=1").status_code == 204
    response = manager.post(f"/api/objects/{world.obj.pk}/restore/", {"version": 1}, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["author_name"], response.json()["last_editor_name"]) == ("annotator", "manager")
    assert editors(world.obj.pk) == [("create", "annotator"), ("delete", "manager"), ("restore", "manager")]
    revisions = world.client("reviewer").get(f"/api/objects/{world.obj.pk}/revisions/").json()
    assert [(r["action"], r["author_name"]) for r in revisions] == editors(world.obj.pk)
    stats = people(world)
    assert stats["annotator"]["created"] == 1 and "manager" not in stats  # deleting and restoring is no edit


def test_a_restore_after_the_creator_left_has_no_author(world: World) -> None:
    outsider_made = object_create(image=world.free_image, author=world.users["outsider"], label_id=world.label.pk,
                                  polygons=SQUARE)  # fmt: skip
    object_delete(obj=outsider_made, author=world.users["manager"], version=1)
    world.users["outsider"].delete()
    restored = object_restore(object_id=outsider_made.pk, author=world.users["manager"], version=1)
    assert restored.author is None and restored.last_editor == world.users["manager"]


def test_the_migration_gives_existing_objects_numbers_and_their_creators_back(world: World) -> None:
    """Before this change an edit overwrote `author`; the backfill takes the creator from the create revision,
    the newest editor from the revisions, and numbers each image's objects by id."""
    backfill = import_module("backend.annotations.migrations.0006_backfill_object_credit").backfill
    manager, annotator = world.users["manager"], world.users["annotator"]
    second = object_create(image=world.batched_image, author=annotator, label_id=world.label.pk, polygons=SQUARE)
    object_update(obj=second, author=manager, version=1, polygons=DRAGGED)
    object_update(obj=second, author=annotator, version=2, polygons=SQUARE)
    object_update(obj=world.obj, author=manager, version=1, polygons=DRAGGED)
    AnnotationObject.objects.filter(pk=world.obj.pk).update(author=manager, last_editor=None, number=7)
    AnnotationObject.objects.filter(pk=second.pk).update(number=5, last_editor=None)
    Image.objects.filter(pk=world.batched_image.pk).update(next_object_number=1)
    backfill(apps, None)
    first, second = AnnotationObject.objects.filter(image=world.batched_image).order_by("id")
    assert (first.number, first.author, first.last_editor) == (1, annotator, manager)
    assert (second.number, second.author, second.last_editor) == (2, annotator, annotator)
    assert Image.objects.get(pk=world.batched_image.pk).next_object_number == 3
