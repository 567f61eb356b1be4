"""Batches: created from a selection or by size, assigned, submitted and reviewed."""

from backend.images.models import Batch, Image
from backend.images.services import images_upload
from tests.conftest import SQUARE, World, png_bytes, upload


def add_images(world: World, count: int) -> None:
    files = [upload(f"n{i}.png", png_bytes(seed=100 + i)) for i in range(count)]
    images_upload(project=world.project, files=files, uploaded_by=world.users["manager"])


def test_split_unbatched_images_by_size(world: World) -> None:
    add_images(world, 4)  # 5 unbatched now
    url = f"/api/projects/{world.project.pk}/batches/"
    response = world.client("manager").post(url, {"size": 2, "assignee_id": world.users["annotator"].pk}, format="json")
    assert response.status_code == 201
    assert [b["image_count"] for b in response.json()] == [2, 2, 1]
    assert not Image.objects.filter(project=world.project, batch__isnull=True).exists()
    again = world.client("manager").post(url, {"size": 2}, format="json")
    assert again.status_code == 400 and again.json()["error"] == "no_free_images"


def test_selection_checks_images_and_people(world: World) -> None:
    url = f"/api/projects/{world.project.pk}/batches/"
    manager = world.client("manager")
    assert manager.post(url, {"image_ids": [world.batched_image.pk]}, format="json").status_code == 409
    assert manager.post(url, {"image_ids": [424242]}, format="json").json()["error"] == "unknown_image"
    assert manager.post(url, {}, format="json").json()["error"] == "batch_spec"
    wrong = {"image_ids": [world.free_image.pk], "assignee_id": world.users["reviewer"].pk}
    assert manager.post(url, wrong, format="json").json()["error"] == "wrong_role"
    outsider = {"image_ids": [world.free_image.pk], "reviewer_id": world.users["outsider"].pk}
    assert manager.post(url, outsider, format="json").json()["error"] == "not_a_member"


def test_reassigning_a_batch_moves_visibility(world: World) -> None:
    from backend.projects.services import member_add

    member_add(project=world.project, username="outsider", role="annotator")
    url = f"/api/batches/{world.batch.pk}/"
    response = world.client("manager").patch(url, {"assignee_id": world.users["outsider"].pk}, format="json")
    assert response.status_code == 200 and response.json()["assignee_name"] == "outsider"
    assert world.client("annotator").get(url).status_code == 404
    assert world.client("outsider").get(url).status_code == 200


def test_submit_then_reject_then_resubmit_then_accept(world: World) -> None:
    annotator, reviewer = world.client("annotator"), world.client("reviewer")
    batch_url = f"/api/batches/{world.batch.pk}"

    def review(decision: str):
        return reviewer.post(f"{batch_url}/review", {"decision": decision}, format="json")

    assert review("accept").status_code == 409
    assert annotator.post(f"{batch_url}/submit").json()["status"] == "submitted"
    assert annotator.post(f"{batch_url}/submit").status_code == 409
    assert review("reject").json()["status"] == "submitted"  # decided, not closed
    assert review("finish").json()["status"] == "rejected"
    assert Image.objects.get(pk=world.batched_image.pk).status == "rejected"
    assert annotator.post(f"{batch_url}/submit").status_code == 200
    assert review("maybe").status_code == 400
    assert review("accept").status_code == 200
    assert review("finish").json()["status"] == "accepted"
    assert Image.objects.get(pk=world.batched_image.pk).status == "accepted"


def test_batch_output_counts_images_without_objects_and_decisions(world: World) -> None:
    from backend.annotations.services import object_create

    Image.objects.filter(pk=world.free_image.pk).update(batch=world.batch)  # an image without any object
    object_create(image=world.batched_image, author=world.users["annotator"], label_id=world.label.pk, polygons=SQUARE)
    batch = world.client("annotator").get(f"/api/batches/{world.batch.pk}/").json()
    assert (batch["image_count"], batch["empty_images"]) == (2, 1)
    assert (batch["accepted_images"], batch["rejected_images"], batch["undecided_images"]) == (0, 0, 2)
    [listed] = world.client("annotator").get(f"/api/projects/{world.project.pk}/batches/").json()
    assert listed == batch


def test_deleting_a_batch_returns_images_to_the_pool(world: World) -> None:
    assert world.client("manager").delete(f"/api/batches/{world.batch.pk}/").status_code == 204
    assert not Batch.objects.filter(pk=world.batch.pk).exists()
    assert Image.objects.get(pk=world.batched_image.pk).batch is None
