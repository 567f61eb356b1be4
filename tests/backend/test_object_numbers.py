"""Object numbers: per image from 1, the same in the objects list and the comments (issue 12, defect 5), stable,
never reused after a delete (a restore keeps its number), distinct under concurrent creates (real PostgreSQL)."""

import pytest
from django.db import IntegrityError, transaction

from backend.annotations.models import AnnotationObject, AnnotationRevision, RevisionAction
from backend.annotations.services import comment_create, object_create, object_delete, object_restore
from backend.common.errors import InvalidInput
from backend.images.models import Image
from tests.backend.test_locking import InThread, held, wait_blocked
from tests.conftest import SQUARE, World


def create(world: World, image=None, **extra) -> AnnotationObject:
    image = image or world.free_image
    return object_create(image=image, author=world.users["annotator"], label_id=world.label.pk, polygons=SQUARE,
                         **extra)  # fmt: skip


def numbers(image) -> list[int]:
    return list(AnnotationObject.objects.filter(image=image).order_by("number").values_list("number", flat=True))


def test_each_image_numbers_its_objects_from_one(world: World) -> None:
    assert world.obj.number == 1
    assert [create(world).number for _ in range(3)] == [1, 2, 3]
    assert create(world, world.batched_image).number == 2
    assert Image.objects.get(pk=world.free_image.pk).next_object_number == 4


def test_a_deleted_number_is_never_reused_and_a_restore_keeps_it(world: World) -> None:
    annotator = world.users["annotator"]
    one, two, three = create(world), create(world), create(world)
    object_delete(obj=three, author=annotator, version=1)
    object_delete(obj=two, author=annotator, version=1)
    assert create(world).number == 4
    assert object_restore(object_id=three.pk, author=annotator, version=1).number == 3
    assert object_restore(object_id=two.pk, author=annotator, version=1).number == 2
    assert numbers(world.free_image) == [1, 2, 3, 4] and one.number == 1


def test_a_retried_or_refused_create_takes_no_number(world: World) -> None:
    assert create(world, client_key="tab-1").number == 1
    assert create(world, client_key="tab-1").number == 1
    with pytest.raises(InvalidInput):
        object_create(image=world.free_image, author=world.users["annotator"], label_id=world.label.pk, polygons=[])
    with pytest.raises(InvalidInput):
        create(world, clicks=[{"x": 500, "y": 1, "positive": True}])
    assert create(world).number == 2


def test_an_object_deleted_before_it_had_a_number_gets_a_new_one_on_restore(world: World) -> None:
    annotator = world.users["annotator"]
    first, second = create(world), create(world)
    object_delete(obj=first, author=annotator, version=1)
    deleted = AnnotationRevision.objects.get(object_id=first.pk, action=RevisionAction.DELETE)
    deleted.snapshot.pop("number")  # as snapshots taken before numbers existed
    deleted.save(update_fields=["snapshot"])
    assert object_restore(object_id=first.pk, author=annotator, version=1).number == 3
    assert numbers(world.free_image) == [2, 3] and second.number == 2


def test_the_database_refuses_two_objects_with_one_number_on_an_image(world: World) -> None:
    first = create(world)
    second = create(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        AnnotationObject.objects.filter(pk=second.pk).update(number=first.number)


def test_the_api_shows_the_number_on_objects_and_comments(world: World) -> None:
    create(world)
    second = create(world)
    listed = world.client("manager").get(f"/api/images/{world.free_image.pk}/objects/").json()
    assert [(o["id"], o["number"]) for o in listed][1] == (second.pk, 2)
    url = f"/api/images/{world.free_image.pk}/comments/"
    world.client("manager").post(url, {"text": "tail", "object": second.pk}, format="json")
    posted = world.client("manager").post(url, {"text": "here", "x": 3, "y": 4}, format="json").json()
    assert posted["object_number"] is None
    on_object = world.client("manager").post(url, {"text": "again", "object": second.pk}, format="json").json()
    assert (on_object["object"], on_object["object_number"]) == (second.pk, 2)
    assert [(c["object"], c["object_number"]) for c in world.client("manager").get(url).json()] == [
        (second.pk, 2),
        (None, None),
        (second.pk, 2),
    ]


def test_a_comment_on_a_deleted_object_has_no_number_until_the_restore(world: World) -> None:
    url = f"/api/images/{world.batched_image.pk}/comments/"
    comment_create(image=world.batched_image, author=world.users["reviewer"], text="edge", object_id=world.obj.pk)
    object_delete(obj=world.obj, author=world.users["annotator"], version=1)
    assert [c["object_number"] for c in world.client("reviewer").get(url).json()] == [None]
    object_restore(object_id=world.obj.pk, author=world.users["annotator"], version=1)
    assert [c["object_number"] for c in world.client("reviewer").get(url).json()] == [1]


def test_concurrent_creates_on_one_image_get_distinct_numbers(transactional_db, world: World) -> None:
    """The second create waits for the first's image lock (PostgreSQL says so), then numbers after it."""
    with held(lambda: create(world)) as first:
        second = InThread(lambda: create(world))
        wait_blocked(second, first, "the second create to wait for the first's image lock")
    second.finish()
    assert second.error is None
    assert (first.result.number, second.result.number) == (1, 2)
    assert numbers(world.free_image) == [1, 2]
    assert Image.objects.get(pk=world.free_image.pk).next_object_number == 3
