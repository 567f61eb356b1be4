"""Uploads and imports stay within their byte limits, per request, with bounded memory; nothing is half-stored."""

import io
import json
import tracemalloc
import zipfile
from pathlib import Path

from django.core.files.uploadedfile import TemporaryUploadedFile

from backend.images.models import Image
from backend.images.services import images_upload
from tests.conftest import World, png_bytes, upload

MiB = 1024 * 1024


def post_files(world: World, *files):
    return world.client("manager").post(
        f"/api/projects/{world.project.pk}/images/", {"files": list(files)}, format="multipart"
    )


def zeros_zip(name: str, size: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive, archive.open(name, "w") as member:
        for _ in range(size // MiB):
            member.write(bytes(MiB))
    return buffer.getvalue()


def media_files(settings) -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_a_zip_bomb_is_refused_with_413_and_nothing_is_stored(world: World, settings) -> None:
    settings.MAX_UPLOAD_BYTES = 4 * MiB
    before, files_before = Image.objects.count(), media_files(settings)
    bomb = zeros_zip("bomb.png", 64 * MiB)
    assert len(bomb) < 200_000
    response = post_files(world, upload("bomb.zip", bomb))
    assert response.status_code == 413, response.content
    assert response.json()["error"] == "upload_too_large"
    assert "MAX_UPLOAD_BYTES" in response.json()["detail"]
    assert Image.objects.count() == before and media_files(settings) == files_before


def test_the_unpacked_limit_is_per_request_not_per_zip(world: World, settings) -> None:
    settings.MAX_UPLOAD_BYTES = 5 * MiB
    before = Image.objects.count()
    first, second = zeros_zip("a.png", 3 * MiB), zeros_zip("b.png", 3 * MiB)
    alone = post_files(world, upload("first.zip", first))
    assert alone.status_code == 400 and alone.json()["details"][0]["error"] == "not_an_image"  # within the limit
    response = post_files(world, upload("first.zip", first), upload("second.zip", second))
    assert response.status_code == 413, response.content
    assert response.json()["error"] == "upload_too_large"
    assert Image.objects.count() == before


def test_plain_files_and_zip_entries_share_one_budget(world: World, settings) -> None:
    settings.MAX_UPLOAD_BYTES = 5 * MiB
    response = post_files(world, upload("big.png", bytes(3 * MiB)), upload("set.zip", zeros_zip("c.png", 3 * MiB)))
    assert response.status_code == 413 and response.json()["error"] == "upload_too_large"


def test_a_file_above_the_limit_gets_413(world: World, settings) -> None:
    settings.MAX_UPLOAD_BYTES = 1 * MiB
    before, files_before = Image.objects.count(), media_files(settings)
    response = post_files(world, upload("huge.png", bytes(2 * MiB)))
    assert response.status_code == 413, response.content
    assert response.json()["error"] == "upload_too_large"
    assert Image.objects.count() == before and media_files(settings) == files_before


def test_files_summing_above_the_limit_get_413(world: World, settings) -> None:
    settings.MAX_UPLOAD_BYTES = 1 * MiB
    response = post_files(world, upload("a.png", bytes(600_000)), upload("b.png", bytes(600_000)))
    assert response.status_code == 413 and response.json()["error"] == "upload_too_large"


def test_an_upload_within_the_limit_is_still_stored(world: World, settings) -> None:
    settings.MAX_UPLOAD_BYTES = 1 * MiB
    response = post_files(world, upload("fits.png", png_bytes(120, 90, seed=77)))
    assert response.status_code == 201, response.content


def test_a_zip_entry_lying_about_its_size_unpacks_no_more_than_declared(world: World, settings) -> None:
    """Declared sizes only allow a quick refusal; an entry declaring less than it holds is cut there and refused."""
    settings.MAX_UPLOAD_BYTES = 4 * MiB
    lying = bytearray(zeros_zip("liar.png", 16 * MiB))
    central = lying.rfind(b"PK\x01\x02")
    lying[central + 24 : central + 28] = (1000).to_bytes(4, "little")  # the uncompressed size the reader trusts
    response = post_files(world, upload("liar.zip", bytes(lying)))
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "bad_zip" and "liar.png" in response.json()["detail"]
    assert not Image.objects.filter(original_name="liar.png").exists()


def test_streaming_keeps_memory_far_below_the_file_size(world: World, settings) -> None:
    """A 48 MiB zip entry and a 48 MiB file go through disk: the process never holds either whole."""
    settings.MAX_UPLOAD_BYTES = 128 * MiB
    plain = TemporaryUploadedFile("junk.png", "application/octet-stream", 48 * MiB, None)
    for _ in range(48):
        plain.write(b"\x89PNG" + bytes(MiB - 4))
    archive = TemporaryUploadedFile("set.zip", "application/zip", 0, None)
    archive.write(zeros_zip("zeros.png", 48 * MiB))
    tracemalloc.start()
    try:
        images_upload(project=world.project, files=[plain, archive], uploaded_by=world.users["manager"])
    except Exception as exc:  # the files are not images: what matters here is the memory it took to find out
        assert getattr(exc, "code", None) == "invalid_upload", exc
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 12 * MiB, f"peak Python allocations {peak / MiB:.1f} MiB"


def test_an_oversized_coco_import_gets_413_before_parsing(world: World, settings) -> None:
    settings.MAX_IMPORT_BYTES = 1000
    document = json.dumps({"images": [], "annotations": [], "categories": [], "pad": "x" * 2000}).encode()
    response = world.client("manager").post(
        f"/api/projects/{world.project.pk}/import", {"file": upload("instances.json", document)}, format="multipart"
    )
    assert response.status_code == 413, response.content
    assert response.json()["error"] == "import_too_large" and "MAX_IMPORT_BYTES" in response.json()["detail"]


def test_a_zip_entry_name_too_long_for_the_database_is_reported(world: World) -> None:
    name = "deep/" * 120 + "one.png"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, png_bytes(seed=91))
    response = post_files(world, upload("deep.zip", buffer.getvalue()))
    assert response.status_code == 400, response.content
    assert response.json()["details"][0]["error"] == "name_too_long"
