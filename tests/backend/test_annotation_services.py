"""The object write services called directly (the API tests drive the same functions through HTTP): versions,
conflicts carrying the current object, revisions, client_key idempotency and relabelling."""

import pytest

from backend.annotations.models import AnnotationObject, AnnotationRevision, Comment, RevisionAction
from backend.annotations.services import (
    comment_create,
    object_create,
    object_delete,
    object_restore,
    object_update,
    objects_relabel,
)
from backend.common.errors import Conflict, InvalidInput
from backend.images.models import ImageStatus
from backend.projects.services import label_create, project_create
from tests.conftest import SQUARE, World

TRIANGLE = [{"outer": [[5, 5], [30, 5], [5, 30]], "holes": []}]


def actions(object_id: int) -> list[str]:
    return list(
        AnnotationRevision.objects.filter(object_id=object_id).order_by("version").values_list("action", flat=True)
    )


def test_create_records_version_one_and_marks_the_image_in_progress(world: World) -> None:
    annotator = world.users["annotator"]
    obj = object_create(image=world.free_image, author=annotator, label_id=world.label.pk, polygons=SQUARE,
                        source="interactive", clicks_used=3, seconds_spent=4.5)  # fmt: skip
    assert (obj.version, obj.area, obj.source, obj.clicks_used) == (1, 31 * 21, "interactive", 3)  # pixels, edges in
    assert actions(obj.pk) == [RevisionAction.CREATE]
    world.free_image.refresh_from_db()
    assert world.free_image.status == ImageStatus.IN_PROGRESS


def test_a_client_key_makes_a_create_idempotent_per_image(world: World) -> None:
    annotator = world.users["annotator"]
    first = object_create(image=world.free_image, author=annotator, label_id=world.label.pk, polygons=SQUARE,
                          client_key="tab-1")  # fmt: skip
    again = object_create(image=world.free_image, author=annotator, label_id=world.spare_label.pk, polygons=TRIANGLE,
                          client_key="tab-1")  # fmt: skip
    assert again.pk == first.pk and again.label_id == world.label.pk and again.version == 1
    other_image = object_create(image=world.batched_image, author=annotator, label_id=world.label.pk,
                                polygons=SQUARE, client_key="tab-1")  # fmt: skip
    assert other_image.pk != first.pk
    assert AnnotationObject.objects.filter(client_key="tab-1").count() == 2
    assert actions(first.pk) == [RevisionAction.CREATE]


def test_create_refuses_a_label_of_another_project_or_none(world: World) -> None:
    elsewhere = project_create(name="Elsewhere", created_by=world.users["outsider"])
    foreign = label_create(project=elsewhere, name="car")
    for label_id in (foreign.pk, None, 0, 987654):
        with pytest.raises(InvalidInput) as refused:
            object_create(image=world.free_image, author=world.users["manager"], label_id=label_id, polygons=SQUARE)
        assert refused.value.code == "unknown_label"
    with pytest.raises(InvalidInput):
        object_create(image=world.free_image, author=world.users["manager"], label_id=world.label.pk, polygons=[])
    assert not world.free_image.annotation_objects.exists()


def test_update_needs_the_current_version_and_answers_a_stale_one_with_the_object(world: World) -> None:
    annotator = world.users["annotator"]
    with pytest.raises(InvalidInput) as missing:
        object_update(obj=world.obj, author=annotator, version=None, clicks_used=1)
    assert missing.value.code == "version_required"
    updated = object_update(obj=world.obj, author=annotator, version=1, label_id=world.spare_label.pk,
                            polygons=TRIANGLE, seconds_spent=2.0)  # fmt: skip
    assert (updated.version, updated.label_id, updated.seconds_spent) == (2, world.spare_label.pk, 2.0)
    with pytest.raises(Conflict) as stale:
        object_update(obj=world.obj, author=annotator, version=1, clicks_used=9)
    assert stale.value.code == "stale_version"
    current = stale.value.details["current"]
    assert current["version"] == 2 and current["label"] == world.spare_label.pk and current["polygons"] == TRIANGLE
    with pytest.raises(Conflict):  # a stale version is answered before an unknown label
        object_update(obj=world.obj, author=annotator, version=1, label_id=987654)
    with pytest.raises(InvalidInput) as unknown:
        object_update(obj=world.obj, author=annotator, version=2, label_id=987654)
    assert unknown.value.code == "unknown_label"
    assert actions(world.obj.pk) == [RevisionAction.CREATE, RevisionAction.UPDATE]


def test_delete_then_restore_under_the_same_id_with_its_comments(world: World) -> None:
    annotator = world.users["annotator"]
    comment = comment_create(
        image=world.batched_image, author=world.users["reviewer"], text="edge", object_id=world.obj.pk
    )
    with pytest.raises(Conflict):
        object_delete(obj=world.obj, author=annotator, version=7)
    object_delete(obj=world.obj, author=annotator, version=1)
    assert not AnnotationObject.objects.filter(pk=world.obj.pk).exists()
    comment.refresh_from_db()
    assert comment.object_id is None and comment.detached_from_object_id == world.obj.pk
    with pytest.raises(Conflict) as stale:
        object_restore(object_id=world.obj.pk, author=annotator, version=2)  # deleted at version 1, not 2
    assert stale.value.code == "stale_version"
    restored = object_restore(object_id=world.obj.pk, author=annotator, version=1)
    assert restored.pk == world.obj.pk and restored.version == 3 and restored.polygons == world.obj.polygons
    assert Comment.objects.get(pk=comment.pk).object_id == restored.pk
    with pytest.raises(Conflict) as again:
        object_restore(object_id=world.obj.pk, author=annotator, version=1)
    assert again.value.code == "not_deleted" and again.value.details["current"]["version"] == 3
    with pytest.raises(InvalidInput):
        object_restore(object_id=987654, author=annotator, version=1)
    assert actions(world.obj.pk) == [RevisionAction.CREATE, RevisionAction.DELETE, RevisionAction.RESTORE]


def test_a_restore_gives_up_a_client_key_taken_since(world: World) -> None:
    annotator = world.users["annotator"]
    keyed = object_create(image=world.free_image, author=annotator, label_id=world.label.pk, polygons=SQUARE,
                          client_key="k")  # fmt: skip
    object_delete(obj=keyed, author=annotator, version=1)
    object_create(image=world.free_image, author=annotator, label_id=world.label.pk, polygons=TRIANGLE, client_key="k")
    restored = object_restore(object_id=keyed.pk, author=annotator, version=1)
    assert restored.client_key is None


def test_relabel_moves_every_object_as_a_new_version(world: World) -> None:
    manager = world.users["manager"]
    second = object_create(image=world.free_image, author=manager, label_id=world.label.pk, polygons=SQUARE)
    untouched = object_create(image=world.free_image, author=manager, label_id=world.spare_label.pk, polygons=SQUARE)
    assert objects_relabel(source=world.label, target=world.spare_label) == 2
    for obj in (world.obj, second):
        obj.refresh_from_db()
        assert (obj.label_id, obj.version) == (world.spare_label.pk, 2)
        assert actions(obj.pk) == [RevisionAction.CREATE, RevisionAction.UPDATE]
    untouched.refresh_from_db()
    assert untouched.version == 1
    assert objects_relabel(source=world.label, target=world.spare_label) == 0
