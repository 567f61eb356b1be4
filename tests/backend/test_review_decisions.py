"""The reviewer's decisions on a batch under review: per image, revisable until the review is finished;
batch-wide decisions only for the images still undecided; finishing closes the batch (accepted, or rejected back
to its annotator) once every image is decided."""

import pytest

from backend.images.models import Batch, Image
from backend.images.services import batch_submit
from tests.conftest import World


@pytest.fixture
def two(world: World) -> World:
    """The world's batch with both images in it, submitted."""
    Image.objects.filter(pk=world.free_image.pk).update(batch=world.batch)
    batch_submit(batch=world.batch)
    return world


def decide_image(world: World, image, decision: str, who: str = "reviewer"):
    return world.client(who).post(f"/api/images/{image.pk}/review", {"decision": decision}, format="json")


def decide_batch(world: World, decision: str, who: str = "reviewer"):
    return world.client(who).post(f"/api/batches/{world.batch.pk}/review", {"decision": decision}, format="json")


def statuses(world: World) -> dict[int, str]:
    return dict(Image.objects.filter(batch=world.batch).values_list("pk", "status"))


def batch_status(world: World) -> str:
    return Batch.objects.get(pk=world.batch.pk).status


def test_accepting_the_rest_keeps_an_explicit_rejection(two: World) -> None:
    assert decide_image(two, two.batched_image, "reject").status_code == 200
    response = decide_batch(two, "accept")
    assert response.status_code == 200
    assert statuses(two) == {two.batched_image.pk: "rejected", two.free_image.pk: "accepted"}
    body = response.json()
    assert body["status"] == "submitted"  # still under review: finishing is explicit
    assert (body["accepted_images"], body["rejected_images"], body["undecided_images"]) == (1, 1, 0)


def test_rejecting_the_rest_keeps_an_explicit_acceptance(two: World) -> None:
    assert decide_image(two, two.free_image, "accept").status_code == 200
    assert decide_batch(two, "reject").status_code == 200
    assert statuses(two) == {two.batched_image.pk: "rejected", two.free_image.pk: "accepted"}


def test_a_decision_can_be_changed_until_the_review_is_finished(two: World) -> None:
    assert decide_image(two, two.batched_image, "accept").json()["status"] == "accepted"
    assert decide_image(two, two.batched_image, "reject").json()["status"] == "rejected"
    assert decide_image(two, two.free_image, "reject").status_code == 200
    assert batch_status(two) == "submitted"  # deciding the last image no longer closes the batch
    assert decide_image(two, two.batched_image, "accept").json()["status"] == "accepted"
    assert decide_image(two, two.free_image, "accept").status_code == 200
    assert decide_batch(two, "finish").json()["status"] == "accepted"


def test_finishing_with_undecided_images_is_refused(two: World) -> None:
    assert decide_image(two, two.batched_image, "accept").status_code == 200
    response = decide_batch(two, "finish")
    assert response.status_code == 409
    assert response.json()["error"] == "undecided_images"
    assert "1 image(s)" in response.json()["detail"]
    assert response.json()["details"] == {"undecided": [two.free_image.pk]}
    assert batch_status(two) == "submitted"


def test_finishing_with_a_rejection_sends_the_batch_back_and_a_resubmission_keeps_the_accepted(two: World) -> None:
    decide_image(two, two.batched_image, "accept")
    decide_image(two, two.free_image, "reject")
    assert decide_batch(two, "finish").json()["status"] == "rejected"
    annotator = two.client("annotator")
    assert annotator.post(f"/api/batches/{two.batch.pk}/submit").status_code == 200
    assert statuses(two) == {two.batched_image.pk: "accepted", two.free_image.pk: "submitted"}
    assert decide_batch(two, "finish").json()["error"] == "undecided_images"
    assert decide_image(two, two.free_image, "accept").status_code == 200
    assert decide_batch(two, "finish").json()["status"] == "accepted"


def test_no_decision_in_a_batch_not_under_review(world: World) -> None:
    for decision in ("accept", "reject", "finish"):  # open: not submitted yet
        response = decide_batch(world, decision)
        assert response.status_code == 409 and response.json()["error"] == "not_under_review", decision
    assert decide_image(world, world.batched_image, "accept").json()["error"] == "not_under_review"
    batch_submit(batch=world.batch)
    decide_batch(world, "accept")
    assert decide_batch(world, "finish").json()["status"] == "accepted"
    for response in (decide_image(world, world.batched_image, "reject"), decide_batch(world, "reject")):
        assert response.status_code == 409
        assert response.json()["error"] == "not_under_review"
        assert "accepted" in response.json()["detail"]
    assert statuses(world) == {world.batched_image.pk: "accepted"}


def test_bad_decisions_are_400(two: World) -> None:
    assert decide_image(two, two.batched_image, "finish").status_code == 400  # finishing is for the batch
    assert decide_batch(two, "maybe").status_code == 400
    assert decide_batch(two, "").status_code == 400


@pytest.mark.parametrize(("who", "code"), [("annotator", 403), ("outsider", 404), ("manager", 200)])
def test_only_the_reviewer_or_a_manager_decides(two: World, who: str, code: int) -> None:
    decide_batch(two, "accept")
    assert decide_image(two, two.batched_image, "reject", who=who).status_code == code
    assert decide_batch(two, "finish", who=who).status_code == code
    assert batch_status(two) == ("rejected" if code == 200 else "submitted")
