"""No file without its image: an upload that fails stores no file, a crash's leftovers neither rename a re-upload
nor outlive `manage.py sweep_media`."""

import hashlib
import os
import time
from pathlib import Path

from django.core.management import call_command

from backend.images.models import Image
from tests.conftest import World, png_bytes, upload


def media_files(settings) -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def post_files(world: World, *files):
    return world.client("manager").post(
        f"/api/projects/{world.project.pk}/images/", {"files": list(files)}, format="multipart"
    )


def test_an_upload_failing_in_its_third_store_leaves_no_file(world: World, settings) -> None:
    pngs = [png_bytes(80, 60, seed=s) for s in (41, 42, 43)]
    third = hashlib.sha256(pngs[2]).hexdigest()
    # The filesystem refuses the third thumbnail: a folder sits where it should go.
    blocker = Path(settings.MEDIA_ROOT) / f"projects/{world.project.pk}/thumbnails/{third}.jpg"
    blocker.mkdir(parents=True)
    before_rows, before_files = Image.objects.count(), media_files(settings)
    client = world.client("manager")
    client.raise_request_exception = False
    response = client.post(
        f"/api/projects/{world.project.pk}/images/",
        {"files": [upload(f"{i}.png", data) for i, data in enumerate(pngs)]},
        format="multipart",
    )
    assert response.status_code == 500
    assert Image.objects.count() == before_rows
    assert media_files(settings) == before_files  # the first two images, their thumbnails and the third image


def test_a_reupload_after_a_crash_gets_the_plain_name_and_whole_content(world: World, settings) -> None:
    data = png_bytes(90, 70, seed=51)
    sha = hashlib.sha256(data).hexdigest()
    leftover = Path(settings.MEDIA_ROOT) / f"projects/{world.project.pk}/images/{sha}.png"
    leftover.parent.mkdir(parents=True, exist_ok=True)
    leftover.write_bytes(data[:100])  # a crash cut the write short
    response = post_files(world, upload("again.png", data))
    assert response.status_code == 201, response.content
    image = Image.objects.get(pk=response.json()["created"][0]["id"])
    assert image.file.name == f"projects/{world.project.pk}/images/{sha}.png"
    assert leftover.read_bytes() == data
    assert not list(leftover.parent.glob("*.partial"))


def _age(path: Path, minutes: float) -> None:
    then = time.time() - minutes * 60
    os.utime(path, (then, then))


def test_sweep_removes_old_orphans_and_nothing_referenced(world: World, settings) -> None:
    root = Path(settings.MEDIA_ROOT)
    referenced = media_files(settings)
    assert referenced and all(name.startswith("projects/") for name in referenced)
    images = root / f"projects/{world.project.pk}/images"
    old, fresh, partial = images / ("a" * 64 + ".png"), images / ("b" * 64 + ".png"), images / "x.png.1f2e.partial"
    gone_project = root / "projects/99999/thumbnails" / ("c" * 64 + ".jpg")
    gone_project.parent.mkdir(parents=True)
    for path in (old, fresh, partial, gone_project):
        path.write_bytes(b"leftover")
    for path in (old, partial, gone_project, *(root / name for name in referenced)):
        _age(path, 120)

    call_command("sweep_media", "--older-than-minutes", "60", "--dry-run")
    assert old.exists()

    call_command("sweep_media", "--older-than-minutes", "60")
    assert not old.exists() and not partial.exists() and not gone_project.exists()
    assert fresh.exists()  # an upload in progress may still commit it
    assert media_files(settings) == referenced | {fresh.relative_to(root).as_posix()}
    for image in Image.objects.all():
        assert image.file.storage.exists(image.file.name) and image.thumbnail.storage.exists(image.thumbnail.name)
