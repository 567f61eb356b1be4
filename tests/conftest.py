"""Fixtures shared by the whole suite: a project with one user per role, images, a batch and an object.

Settings of the suite: backend/config/test_settings.py (pyproject.toml points pytest-django at it)."""

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage
from rest_framework.test import APIClient

from ml.paths import shared_dir

REPO_DIR = Path(__file__).resolve().parents[1]
SHARED_DIR = shared_dir()  # $EDGEFLOW_SHARED_DIR, default <repo>/../shared


def png_bytes(width: int = 64, height: int = 48, seed: int = 0, mode: str = "RGB") -> bytes:
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4}.get(mode)
    shape = (height, width, channels) if channels else (height, width)
    pixels = rng.integers(0, 255, size=shape, dtype=np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels, mode=None).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with no login failures counted (the throttle's counts live in the cache)."""
    from django.core.cache import cache

    cache.clear()


@dataclass
class World:
    project: object
    users: dict
    label: object
    spare_label: object
    batched_image: object
    free_image: object
    batch: object
    obj: object

    def client(self, who: str) -> APIClient:
        client = APIClient()
        if who != "anonymous":
            client.force_authenticate(self.users[who])
        return client


# The states an image can be in for editing: its batch's status and its own (an accepted image may sit in a batch
# rejected back to its annotator). Permission matrices iterate over these.
BATCH_STATES = {
    "open": ("open", "in_progress"),
    "submitted": ("submitted", "submitted"),
    "accepted": ("accepted", "accepted"),
    "rejected": ("rejected", "rejected"),
    "rejected, image accepted": ("rejected", "accepted"),
}


def set_batch_state(image, state: str) -> None:
    from backend.images.models import Batch, Image

    batch_status, image_status = BATCH_STATES[state]
    Batch.objects.filter(pk=image.batch_id).update(status=batch_status)
    Image.objects.filter(pk=image.pk).update(status=image_status)


def upload_to_batch(world: "World", name: str, data: bytes):
    """An image uploaded by the manager and put in the world's batch (annotator `annotator`, reviewer `reviewer`)."""
    from backend.images.models import Image
    from backend.images.services import images_upload

    image = images_upload(project=world.project, files=[upload(name, data)], uploaded_by=world.users["manager"])
    image = image.created[0]
    Image.objects.filter(pk=image.pk).update(batch=world.batch)
    image.refresh_from_db()
    return image


SQUARE = [{"outer": [[10, 10], [40, 10], [40, 30], [10, 30]], "holes": []}]


@pytest.fixture
def world(db) -> World:
    from backend.annotations.services import object_create
    from backend.images.services import batches_create, images_upload
    from backend.projects.models import Role
    from backend.projects.services import label_create, member_add, project_create

    User = get_user_model()
    users = {name: User.objects.create_user(name, password=f"pw-{name}") for name in
             ["admin", "manager", "annotator", "reviewer", "outsider"]}  # fmt: skip
    project = project_create(name="World", created_by=users["admin"])
    for role in (Role.MANAGER, Role.ANNOTATOR, Role.REVIEWER):
        member_add(project=project, username=role.value, role=role)
    label = label_create(project=project, name="car", color="#ff0000")
    spare = label_create(project=project, name="tree", color="#00ff00")
    report = images_upload(
        project=project,
        files=[upload("a.png", png_bytes(seed=1)), upload("b.png", png_bytes(seed=2))],
        uploaded_by=users["manager"],
    )
    batched, free = report.created
    (batch,) = batches_create(
        project=project, image_ids=[batched.pk], assignee_id=users["annotator"].pk, reviewer_id=users["reviewer"].pk
    )
    batched.refresh_from_db()
    obj = object_create(image=batched, author=users["annotator"], label_id=label.pk, polygons=SQUARE)
    return World(project, users, label, spare, batched, free, batch, obj)
