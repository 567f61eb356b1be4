"""Uploading images: multi-file, zip, duplicates, and every kind of bad input (nothing half-stored)."""

import io
import os
import stat
import zipfile

import pytest

from backend.images.models import Image
from tests.conftest import World, png_bytes, upload


def post_files(world: World, *files, who: str = "manager"):
    return world.client(who).post(
        f"/api/projects/{world.project.pk}/images/", {"files": list(files)}, format="multipart"
    )


def make_zip(entries: dict[str, bytes], symlink: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def test_multi_file_upload_stores_images_with_metadata_and_thumbnail(world: World) -> None:
    response = post_files(world, upload("x.png", png_bytes(300, 200, seed=5)), upload("y.png", png_bytes(seed=6)))
    assert response.status_code == 201, response.content
    created = response.json()["created"]
    assert [c["original_name"] for c in created] == ["x.png", "y.png"]
    assert (created[0]["width"], created[0]["height"], created[0]["format"]) == (300, 200, "PNG")
    thumb = world.client("manager").get(created[0]["thumbnail_url"])
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    original = world.client("manager").get(created[0]["file_url"])
    assert b"".join(original.streaming_content) == png_bytes(300, 200, seed=5)


def test_duplicate_upload_is_reported_not_stored_twice(world: World) -> None:
    before = Image.objects.count()
    response = post_files(world, upload("again.png", png_bytes(seed=1)), upload("twin.png", png_bytes(seed=1)))
    assert response.status_code == 200
    assert response.json()["created"] == []
    assert {d["file"] for d in response.json()["duplicates"]} == {"again.png", "twin.png"}
    assert Image.objects.count() == before


def test_zip_upload_reads_images_and_skips_other_files(world: World) -> None:
    archive = make_zip({"dir/one.png": png_bytes(seed=11), "two.png": png_bytes(seed=12), "notes.txt": b"hi"})
    response = post_files(world, upload("set.zip", archive))
    assert response.status_code == 201
    assert sorted(c["original_name"] for c in response.json()["created"]) == ["dir/one.png", "two.png"]


@pytest.mark.parametrize(
    ("files", "code"),
    [
        ([("note.png", b"this is not an image")], "not_an_image"),
        ([("cut.png", png_bytes(200, 200, seed=3)[:400])], "corrupt_image"),
        ([("empty.png", b"")], "empty_file"),
        ([("good.png", png_bytes(seed=21)), ("bad.jpg", b"\xff\xd8\xff garbage")], "not_an_image"),
    ],
)
def test_bad_files_are_rejected_and_nothing_is_stored(world: World, files, code: str) -> None:
    before = Image.objects.count()
    response = post_files(world, *[upload(n, d) for n, d in files])
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid_upload"
    assert code in {d["error"] for d in body["details"]}
    assert Image.objects.count() == before


def test_image_above_the_pixel_limit_is_refused_before_decoding(world: World, settings) -> None:
    settings.MAX_IMAGE_PIXELS = 100 * 100
    response = post_files(world, upload("big.png", png_bytes(101, 100, seed=4)))
    assert response.status_code == 400
    assert response.json()["details"][0]["error"] == "image_too_large"


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width``×``height`` 1-bit pixels and holds none."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(200_000, 100_000), (20_000, 20_000)])
def test_decompression_bomb_header_is_refused(world: World, settings, size) -> None:
    # 200000 × 100000 (2e10) is above what the tiled path takes (MAX_TILED_PIXELS, 2³² - 1); with the tiled path
    # allowed no more than 150 MP (its default bomb guard), so is 20000 × 20000 (400 MP).
    if size == (20_000, 20_000):
        settings.MAX_TILED_PIXELS = 150_000_000
    response = post_files(world, upload("bomb.png", png_header_only(*size)))
    assert response.status_code == 400
    assert response.json()["details"][0]["error"] == "image_too_large"


def test_a_real_400_mp_image_takes_the_tiled_path(world: World) -> None:
    # A 20000 × 20000 1-bit PNG (50 KB): no longer a bomb but a gigapixel image, checked and tiled streaming.
    buffer = io.BytesIO()
    from PIL import Image as PILImage

    PILImage.new("1", (20000, 20000)).save(buffer, format="PNG")
    response = post_files(world, upload("black.png", buffer.getvalue()))
    assert response.status_code == 201, response.content
    assert response.json()["created"][0]["tiles"]["levels"] == 16


@pytest.mark.parametrize(
    ("archive", "code"),
    [
        (make_zip({"../../escape.png": png_bytes(seed=31)}), "zip_path_traversal"),
        (make_zip({"/abs.png": png_bytes(seed=32)}), "zip_path_traversal"),
        (make_zip({"ok.png": png_bytes(seed=33)}, symlink="link.png"), "zip_symlink"),
        (b"PK\x03\x04 broken", "bad_zip"),
    ],
)
def test_unsafe_or_broken_zip_is_rejected_whole(world: World, archive: bytes, code: str) -> None:
    before = Image.objects.count()
    response = post_files(world, upload("set.zip", archive))
    assert response.status_code == 400
    assert response.json()["error"] == code
    assert Image.objects.count() == before


def test_upload_without_files_is_a_clear_error(world: World) -> None:
    response = world.client("manager").post(f"/api/projects/{world.project.pk}/images/", {}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"] == "no_files"


def test_image_list_filters_and_paginates(world: World) -> None:
    client = world.client("manager")
    url = f"/api/projects/{world.project.pk}/images/"
    page = client.get(url, {"page_size": 1}).json()
    assert page["count"] == 2 and len(page["results"]) == 1 and page["next"]
    assert [i["id"] for i in client.get(url, {"batch": "none"}).json()["results"]] == [world.free_image.pk]
    assert client.get(url, {"status": "accepted"}).json()["count"] == 0
    assert client.get(url, {"search": "b.png"}).json()["results"][0]["id"] == world.free_image.pk


@pytest.mark.parametrize(
    ("params", "mentions"),
    [
        ({"batch": "abc"}, "batch"),
        ({"batch": "\x1b"}, "batch"),
        ({"batch": "99999999999999999999999"}, "batch"),
        ({"status": "V"}, "'V'"),
        ({"status": "accepted,nope"}, "'nope'"),
        ({"search": "a\x00b"}, "search"),
    ],
)
def test_malformed_list_filters_get_a_clear_400(world: World, params: dict, mentions: str) -> None:
    response = world.client("manager").get(f"/api/projects/{world.project.pk}/images/", params)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "bad_filter" and mentions in response.json()["detail"]


def test_several_statuses_filter_together(world: World) -> None:
    Image.objects.filter(pk=world.free_image.pk).update(status="accepted")
    Image.objects.filter(pk=world.batched_image.pk).update(status="submitted")
    url = f"/api/projects/{world.project.pk}/images/"
    assert world.client("manager").get(url, {"status": "submitted,accepted"}).json()["count"] == 2
    assert world.client("manager").get(url, {"status": "submitted"}).json()["count"] == 1


def test_annotator_lists_only_images_of_their_batches(world: World) -> None:
    body = world.client("annotator").get(f"/api/projects/{world.project.pk}/images/").json()
    assert [i["id"] for i in body["results"]] == [world.batched_image.pk]


def test_deleting_an_image_removes_its_files(world: World, django_capture_on_commit_callbacks) -> None:
    path = world.free_image.file.path
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client("manager").delete(f"/api/images/{world.free_image.pk}/")
    assert response.status_code == 204
    assert not os.path.exists(path)
    assert world.client("manager").get(f"/api/images/{world.free_image.pk}/").status_code == 404


def test_exif_rotated_photo_is_measured_upright(world: World) -> None:
    from PIL import Image as PILImage

    buffer = io.BytesIO()
    exif = PILImage.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    PILImage.new("RGB", (60, 40), "red").save(buffer, format="JPEG", exif=exif)
    created = post_files(world, upload("portrait.jpg", buffer.getvalue())).json()["created"][0]
    assert (created["width"], created["height"]) == (40, 60)
