"""Client text bound for a column: too long, NUL or no valid Unicode is a 400 naming the field, never a 500."""

import pytest

from backend.annotations.models import Comment
from backend.annotations.services import COMMENT_MAX_LENGTH
from backend.common.errors import InvalidInput
from backend.images.models import Batch
from backend.images.services import images_upload
from backend.projects.services import label_create, label_update, project_create, project_update
from tests.conftest import World, png_bytes, upload

BAD = [("x" * 101, "too_long", "at most 100"), ("bus\x00", "bad_text", "NUL"), ("bus\ud800", "bad_text", "Unicode")]


@pytest.mark.parametrize(("name", "code", "words"), BAD)
def test_label_names_are_checked_where_labels_are_made(world: World, name: str, code: str, words: str) -> None:
    """The labels API's serializer checks its names; the COCO import and other callers come through here."""
    for make in (
        lambda: label_create(project=world.project, name=name),
        lambda: label_update(label=world.label, name=name),
    ):
        with pytest.raises(InvalidInput) as refused:
            make()
        assert refused.value.code == code and "label name" in refused.value.message and words in refused.value.message
    assert sorted(world.project.labels.values_list("name", flat=True)) == ["car", "tree"]


def test_label_names_are_measured_without_their_padding(world: World) -> None:
    assert label_create(project=world.project, name="  " + "y" * 100 + "  ").name == "y" * 100


@pytest.mark.parametrize(
    ("fields", "code", "words"),
    [({"name": "p" * 201}, "too_long", "project name"), ({"name": "p\x00"}, "bad_text", "project name"),
     ({"description": "d\x00"}, "bad_text", "project description")],
)  # fmt: skip
def test_project_names_and_descriptions_are_checked(world: World, fields: dict, code: str, words: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        project_create(**{"name": "P", **fields}, created_by=world.users["admin"])
    assert refused.value.code == code and words in refused.value.message
    with pytest.raises(InvalidInput):
        project_update(project=world.project, **fields)
    world.project.refresh_from_db()
    assert world.project.name == "World"


def test_a_batch_name_longer_than_its_column_is_a_400(world: World) -> None:
    url = f"/api/projects/{world.project.pk}/batches/"
    manager = world.client("manager")
    too_long = manager.post(url, {"image_ids": [world.free_image.pk], "name": "b" * 201}, format="json")
    assert too_long.status_code == 400 and too_long.json()["error"] == "too_long", too_long.content
    assert "batch name" in too_long.json()["detail"] and "200" in too_long.json()["detail"]
    renamed = manager.patch(f"/api/batches/{world.batch.pk}/", {"name": "b" * 201}, format="json")
    assert renamed.status_code == 400 and renamed.json()["error"] == "too_long"
    assert Batch.objects.filter(project=world.project).count() == 1


def test_numbered_batch_names_must_fit_too(world: World) -> None:
    files = [upload(f"n{i}.png", png_bytes(seed=100 + i)) for i in range(2)]
    images_upload(project=world.project, files=files, uploaded_by=world.users["manager"])
    url = f"/api/projects/{world.project.pk}/batches/"
    response = world.client("manager").post(url, {"size": 2, "name": "b" * 199}, format="json")  # "bbb… 2"
    assert response.status_code == 400 and response.json()["error"] == "too_long", response.content
    assert Batch.objects.filter(project=world.project).count() == 1
    fits = world.client("manager").post(url, {"size": 2, "name": "b" * 190}, format="json")
    assert fits.status_code == 201 and [b["name"] for b in fits.json()] == ["b" * 190 + " 2", "b" * 190 + " 3"]


def test_a_comment_has_at_most_its_limit_of_characters(world: World) -> None:
    url = f"/api/images/{world.batched_image.pk}/comments/"
    reviewer = world.client("reviewer")
    too_long = reviewer.post(url, {"text": "c" * (COMMENT_MAX_LENGTH + 1)}, format="json")
    assert too_long.status_code == 400 and too_long.json()["error"] == "too_long"
    assert "comment" in too_long.json()["detail"] and f"{COMMENT_MAX_LENGTH}" in too_long.json()["detail"]
    assert reviewer.post(url, {"text": "c" * COMMENT_MAX_LENGTH}, format="json").status_code == 201
    assert Comment.objects.filter(image=world.batched_image).count() == 1


def test_a_lone_surrogate_in_any_json_body_is_a_400(world: World) -> None:
    """PostgreSQL's jsonb refuses "\\ud800": the preferences endpoint stored it as given and failed with a 500."""
    response = world.client("annotator").patch(
        "/api/me/preferences/", '{"a": "\\ud800"}', content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["error"] == "bad_json", response.content
    pair = world.client("annotator").patch(
        "/api/me/preferences/", '{"a": "\\ud83d\\ude00"}', content_type="application/json"
    )
    assert pair.status_code == 200 and pair.json()["a"] == "\U0001f600"
