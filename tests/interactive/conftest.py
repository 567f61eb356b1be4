"""Fixtures of the websocket tests: a live stack per module, and a real photo in the world's batch."""

import io
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image as PILImage

from tests.live_stack import Stack, copy_photo, run_stack


@pytest.fixture(scope="module")
def team_stack(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Stack]:
    # Every computed click re-checks the login here, so a test can end a login between two clicks.
    yield from run_stack(tmp_path_factory, team=True, workers=1, extra_env={"WS_LOGIN_RECHECK_S": "0"})


@pytest.fixture(scope="module")
def embedded_stack(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Stack]:
    yield from run_stack(tmp_path_factory, team=False, workers=0)


@pytest.fixture
def media_root(settings, request) -> None:
    """Uploads made by the test must land where the stack's server reads them."""
    for name in ("team_stack", "embedded_stack", "failover_stack", "cold_stack"):
        if name in request.fixturenames:
            settings.MEDIA_ROOT = request.getfixturevalue(name).media


@pytest.fixture
def photo(transactional_db, media_root, world):
    """The world's batched image replaced by a real photo with a ground-truth mask (GrabCut 'llama')."""
    from backend.images.models import Image
    from backend.images.services import images_upload
    from tests.conftest import upload

    report = images_upload(
        project=world.project, files=[upload("llama.bmp", copy_photo("llama.bmp"))], uploaded_by=world.users["manager"]
    )
    image = report.created[0]
    Image.objects.filter(pk=image.pk).update(batch=world.batch)
    image.refresh_from_db()
    return image


def disk_png() -> bytes:
    """A bright disk on a dark textured background: an object the model finds with one click."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 60, size=(150, 200, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:150, :200]
    pixels[(yy - 75) ** 2 + (xx - 100) ** 2 < 40**2] = (230, 200, 40)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def disk(world):
    """An image in the world's batch (annotator: `annotator`, reviewer: `reviewer`)."""
    from tests.conftest import upload_to_batch

    return upload_to_batch(world, "disk.png", disk_png())


@pytest.fixture(scope="session")
def model_loading() -> Iterator[None]:
    """The default model loading in a thread while the test database is created (in-process socket tests ask
    for it first): the first socket's `prepare`, and its first click, wait for this load instead of starting one."""
    import threading

    from django.conf import settings

    from backend.interactive.caches import loaded_model

    thread = threading.Thread(target=loaded_model, args=(settings.DEFAULT_MODEL_NAME,), daemon=True)
    thread.start()
    yield
    thread.join()
