"""An object keeps the clicks its shape was computed from, so that it can be re-opened for more clicks: given on
create and update (left out: kept; ``[]``: cleared), checked like the websocket's clicks, kept through a delete
and restore. Also: the objects list and comments cost a fixed number of queries, and editing an object does not
lock its label."""

import math

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from backend.annotations.locking import lock_object
from backend.annotations.services import comment_create, object_create, object_delete, object_restore, object_update
from backend.common.errors import InvalidInput
from backend.projects.models import LabelClass
from tests.backend.test_locking import held
from tests.conftest import SQUARE, World

CLICKS = [{"x": 20, "y": 15.5, "positive": True}, {"x": 0, "y": 47.9, "positive": False}]
STORED = [{"x": 20.0, "y": 15.5, "positive": True}, {"x": 0.0, "y": 47.9, "positive": False}]
DRAGGED = [{"outer": [[10, 10], [44, 10], [40, 30], [10, 30]], "holes": []}]


def create(world: World, clicks) -> object:
    return object_create(image=world.free_image, author=world.users["annotator"], label_id=world.label.pk,
                         polygons=SQUARE, source="interactive", clicks=clicks)  # fmt: skip


def test_clicks_are_kept_by_edits_without_them_replaced_by_new_ones_and_cleared_by_none(world: World) -> None:
    annotator = world.users["annotator"]
    obj = create(world, CLICKS)
    assert obj.clicks == STORED
    obj = object_update(obj=obj, author=annotator, version=1, polygons=DRAGGED)  # a vertex drag sends no clicks
    assert obj.clicks == STORED
    obj = object_update(obj=obj, author=annotator, version=2, label_id=world.spare_label.pk)
    assert obj.clicks == STORED
    more = [*CLICKS, {"x": 30, "y": 20, "positive": True}]
    obj = object_update(obj=obj, author=annotator, version=3, polygons=SQUARE, clicks=more)
    assert obj.clicks[-1] == {"x": 30.0, "y": 20.0, "positive": True} and len(obj.clicks) == 3
    obj = object_update(obj=obj, author=annotator, version=4, clicks=[])
    assert obj.clicks == []


def test_drawn_objects_have_no_clicks_and_a_restore_brings_the_clicks_back(world: World) -> None:
    assert world.obj.clicks == []
    obj = create(world, CLICKS)
    object_delete(obj=obj, author=world.users["annotator"], version=1)
    assert object_restore(object_id=obj.pk, author=world.users["annotator"], version=1).clicks == STORED


@pytest.mark.parametrize(
    ("clicks", "code"),
    [
        ("clicks", "bad_clicks"),
        ({"x": 1, "y": 1}, "bad_clicks"),
        ([[1, 2, True]], "bad_clicks"),
        ([{"x": "1", "y": 2, "positive": True}], "bad_clicks"),
        ([{"x": True, "y": 2, "positive": True}], "bad_clicks"),
        ([{"y": 2, "positive": True}], "bad_clicks"),
        ([{"x": math.nan, "y": 2, "positive": True}], "bad_clicks"),
        ([{"x": 1, "y": math.inf, "positive": True}], "bad_clicks"),
        ([{"x": 1, "y": 2, "positive": "yes"}], "bad_clicks"),
        ([{"x": 64, "y": 2, "positive": True}], "click_outside_image"),  # the image is 64×48: x < 64
        ([{"x": 3, "y": 48, "positive": True}], "click_outside_image"),
        ([{"x": -0.5, "y": 2, "positive": True}], "click_outside_image"),
        ([{"x": 1, "y": 1, "positive": True}] * 101, "too_many_clicks"),
    ],
)
def test_bad_clicks_are_refused_on_create_and_update(world: World, clicks, code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        create(world, clicks)
    assert refused.value.code == code
    assert not world.free_image.annotation_objects.exists()
    with pytest.raises(InvalidInput) as refused:
        object_update(obj=world.obj, author=world.users["annotator"], version=1, clicks=clicks)
    assert refused.value.code == code
    world.obj.refresh_from_db()
    assert (world.obj.version, world.obj.clicks) == (1, [])


def test_a_hundred_clicks_on_the_last_pixels_are_fine(world: World) -> None:
    assert len(create(world, [{"x": 63.99, "y": 47, "positive": True}] * 100).clicks) == 100


def test_the_api_takes_and_shows_clicks(world: World) -> None:
    client = world.client("annotator")
    url = f"/api/images/{world.batched_image.pk}/objects/"
    body = {"label": world.label.pk, "polygons": SQUARE, "source": "interactive", "clicks": CLICKS, "clicks_used": 2}
    created = client.post(url, body, format="json")
    assert created.status_code == 201, created.content
    assert (created.json()["clicks"], created.json()["number"]) == (STORED, 2)
    detail = f"/api/objects/{created.json()['id']}/"
    dragged = client.patch(detail, {"version": 1, "polygons": DRAGGED}, format="json")
    assert dragged.status_code == 200 and dragged.json()["clicks"] == STORED
    null = client.patch(detail, {"version": 2, "clicks": None}, format="json")
    assert null.status_code == 400 and "clicks" in null.json()
    outside = client.patch(detail, {"version": 2, "clicks": [{"x": 1, "y": 900, "positive": True}]}, format="json")
    assert outside.status_code == 400 and outside.json()["error"] == "click_outside_image"
    assert outside.json()["detail"] == "click 0 (1.0, 900.0) lies outside the 64×48 image."
    cleared = client.patch(detail, {"version": 2, "clicks": []}, format="json")
    assert cleared.status_code == 200 and cleared.json()["clicks"] == [] and cleared.json()["version"] == 3
    drawn = client.post(url, {"label": world.label.pk, "polygons": SQUARE}, format="json")
    assert drawn.json()["clicks"] == []
    too_many = client.post(url, {**body, "clicks": CLICKS * 51}, format="json")
    assert too_many.status_code == 400 and too_many.json()["error"] == "too_many_clicks"
    assert [o["number"] for o in client.get(url).json()] == [1, 2, 3]


def queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_the_objects_list_and_the_comments_cost_the_same_queries_for_many_objects(world: World) -> None:
    """No query per object: authors, editors and the comments' object numbers come in the list's own query."""
    client = world.client("reviewer")
    objects, comments = (
        f"/api/images/{world.batched_image.pk}/objects/",
        f"/api/images/{world.batched_image.pk}/comments/",
    )
    comment_create(image=world.batched_image, author=world.users["reviewer"], text="a", object_id=world.obj.pk)
    few = queries(lambda: client.get(objects)), queries(lambda: client.get(comments))
    for who in ("annotator", "manager", "admin", "reviewer") * 3:
        obj = object_create(image=world.batched_image, author=world.users[who], label_id=world.label.pk,
                            polygons=SQUARE, clicks=CLICKS)  # fmt: skip
        object_update(obj=obj, author=world.users["manager" if who != "manager" else "annotator"], version=1,
                      polygons=DRAGGED)  # fmt: skip
        comment_create(image=world.batched_image, author=world.users[who], text=who, object_id=obj.pk)
    many = queries(lambda: client.get(objects)), queries(lambda: client.get(comments))
    assert many == few
    listed = client.get(objects).json()
    assert len(listed) == 13 and {o["last_editor_name"] for o in listed[1:]} == {"manager", "annotator"}


def test_editing_an_object_does_not_lock_its_label(transactional_db, world: World) -> None:
    """Object writers only share their label (FOR KEY SHARE): a label delete must not wait on a row lock that an
    edit took after its image (that would deadlock with the delete, which locks label then images)."""
    with held(lambda: lock_object(world.obj.pk)), transaction.atomic():
        labels = LabelClass.objects.select_for_update(nowait=True).filter(pk=world.label.pk)
        assert [label.pk for label in labels] == [world.label.pk]  # raises at once if the label were locked
