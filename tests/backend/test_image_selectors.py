"""Who sees which images and batches: managers everything, annotators the batches they annotate, reviewers the
batches they review (`visible_batches`, `visible_images`)."""

import pytest

from backend.images.selectors import visible_batches, visible_images
from backend.images.services import batches_create
from backend.projects.models import Role
from tests.conftest import World, png_bytes, upload_to_batch


@pytest.mark.parametrize(
    ("who", "role", "sees"),
    [
        ("admin", Role.ADMIN, {"world", "other", "unbatched"}),
        ("manager", Role.MANAGER, {"world", "other", "unbatched"}),
        ("annotator", Role.ANNOTATOR, {"world"}),
        ("reviewer", Role.REVIEWER, {"world"}),
        # the role says which side of a batch counts, the user whose batches: the manager annotates "other",
        # the admin reviews it, the outsider has none
        ("manager", Role.ANNOTATOR, {"other"}),
        ("admin", Role.REVIEWER, {"other"}),
        ("annotator", Role.REVIEWER, set()),
        ("outsider", Role.ANNOTATOR, set()),
    ],
)
def test_each_role_sees_its_batches_and_their_images(world: World, who: str, role: Role, sees: set[str]) -> None:
    second = upload_to_batch(world, "c.png", png_bytes(seed=3))
    unbatched = upload_to_batch(world, "d.png", png_bytes(seed=4))
    unbatched.batch = None
    unbatched.save(update_fields=["batch"])
    (other,) = batches_create(
        project=world.project,
        image_ids=[world.free_image.pk],
        assignee_id=world.users["manager"].pk,
        reviewer_id=world.users["admin"].pk,
    )
    batches = {"world": {world.batch.pk}, "other": {other.pk}, "unbatched": set()}
    images = {"world": {world.batched_image.pk, second.pk}, "other": {world.free_image.pk}, "unbatched": {unbatched.pk}}
    user = world.users[who]
    seen_batches = set(visible_batches(user=user, project=world.project, role=role).values_list("pk", flat=True))
    seen_images = set(visible_images(user=user, project=world.project, role=role).values_list("pk", flat=True))
    assert seen_batches == set().union(*(batches[name] for name in sees))
    assert seen_images == set().union(*(images[name] for name in sees))
