"""Batches: created from a selection or by size, assigned, submitted and reviewed."""

from backend.images.models import Batch, Image
from backend.images.services import images_upload
from tests.conftest import World, png_bytes, upload


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
    assert reviewer.post(f"{batch_url}/review", {"decision": "accept"}, format="json").status_code == 409
    assert annotator.post(f"{batch_url}/submit").json()["status"] == "submitted"
    assert annotator.post(f"{batch_url}/submit").status_code == 409
    assert reviewer.post(f"{batch_url}/review", {"decision": "reject"}, format="json").json()["status"] == "rejected"
    assert Image.objects.get(pk=world.batched_image.pk).status == "rejected"
    assert annotator.post(f"{batch_url}/submit").status_code == 200
    assert reviewer.post(f"{batch_url}/review", {"decision": "maybe"}, format="json").status_code == 400
    assert reviewer.post(f"{batch_url}/review", {"decision": "accept"}, format="json").status_code == 200
    assert Image.objects.get(pk=world.batched_image.pk).status == "accepted"


def test_deciding_every_image_decides_the_batch_and_a_resubmission_keeps_the_accepted_ones(world: World) -> None:
    from backend.images.services import batch_submit

    Image.objects.filter(pk=world.free_image.pk).update(batch=world.batch)
    batch_submit(batch=world.batch)
    reviewer = world.client("reviewer")

    def review(image, decision: str):
        return reviewer.post(f"/api/images/{image.pk}/review", {"decision": decision}, format="json")

    assert review(world.batched_image, "accept").status_code == 200
    assert Batch.objects.get(pk=world.batch.pk).status == "submitted"  # one image still to decide
    assert review(world.free_image, "reject").status_code == 200
    assert Batch.objects.get(pk=world.batch.pk).status == "rejected"  # back with the annotator
    assert world.client("annotator").post(f"/api/batches/{world.batch.pk}/submit").status_code == 200
    statuses = dict(Image.objects.filter(batch=world.batch).values_list("pk", "status"))
    assert statuses == {world.batched_image.pk: "accepted", world.free_image.pk: "submitted"}
    assert review(world.free_image, "accept").status_code == 200
    assert Batch.objects.get(pk=world.batch.pk).status == "accepted"


def test_deleting_a_batch_returns_images_to_the_pool(world: World) -> None:
    assert world.client("manager").delete(f"/api/batches/{world.batch.pk}/").status_code == 204
    assert not Batch.objects.filter(pk=world.batch.pk).exists()
    assert Image.objects.get(pk=world.batched_image.pk).batch is None
