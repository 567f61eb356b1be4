"""Images above TILED_MIN_PIXELS: streaming check, thumbnail and tile pyramid, tiles served to who may see the image,
bad files refused with a reason, the pyramid kept once per content and deleted with its last image or swept.

TILED_MIN_PIXELS is lowered so that a 1200×900 JPEG takes the tiled path (the 20000×20000 case is the bench's and
the browser test's).
"""

import io
import os
import time

import numpy as np
import pytest
from PIL import Image as PILImage

from backend.images.models import Image
from backend.images.orphans import sweep_orphans
from backend.images.tiles import inference_path, pyramid_root
from backend.projects.services import project_create
from ml.inference.pyramid import Pyramid
from tests.conftest import World, png_bytes, upload

WIDTH, HEIGHT = 1200, 900


def big_pixels(width: int = WIDTH, height: int = HEIGHT) -> np.ndarray:
    """A smooth gradient with a red disk at (800, 300), radius 120."""
    ys, xs = np.mgrid[0:height, 0:width]
    base = (60 + 120 * xs / width + 60 * ys / height).astype(np.uint8)
    rgb = np.stack([base, base, base], axis=-1)
    rgb[(xs - 800) ** 2 + (ys - 300) ** 2 < 120**2] = (220, 30, 30)
    return rgb


def jpeg_bytes(pixels: np.ndarray, **save) -> bytes:
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="JPEG", quality=92, **save)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _tiled_above_a_megapixel(settings) -> None:
    settings.TILED_MIN_PIXELS = 500_000


def post(world: World, *files, who: str = "manager"):
    return world.client(who).post(
        f"/api/projects/{world.project.pk}/images/", {"files": list(files)}, format="multipart"
    )


def decoded(response) -> np.ndarray:
    data = b"".join(response.streaming_content) if response.streaming else response.content
    return np.asarray(PILImage.open(io.BytesIO(data)).convert("RGB"))


def test_large_upload_gets_a_pyramid_served_tile_by_tile(world: World, settings) -> None:
    response = post(world, upload("big.jpg", jpeg_bytes(big_pixels())))
    assert response.status_code == 201, response.content
    [created] = response.json()["created"]
    assert (created["width"], created["height"], created["format"]) == (WIDTH, HEIGHT, "JPEG")
    tiles = created["tiles"]
    assert tiles["tile_size"] == 256 and tiles["levels"] == 12  # ceil(log2(1200)) + 1
    assert world.client("manager").get(f"/api/images/{created['id']}/").json()["tiles"] == tiles
    client = world.client("manager")

    def tile(level: int, col: int, row: int):
        return client.get(tiles["url"].format(level=level, col=col, row=row))

    # full resolution: the tile holding the disk's centre (800, 300) is red there, typed as what it is
    response = tile(11, 3, 1)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg" and response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"].startswith("private")
    pixels = decoded(response)
    assert pixels.shape == (256, 256, 3)
    assert np.abs(pixels[300 - 256, 800 - 768].astype(int) - (220, 30, 30)).max() < 20
    assert np.abs(pixels[0, 0].astype(int) - big_pixels()[256, 768]).max() < 12  # a gradient pixel, same place
    # the last column and row are what is left; level 10 halves the sides; level 0 is one pixel
    assert decoded(tile(11, 4, 3)).shape == (900 - 768, 1200 - 1024, 3)
    assert decoded(tile(10, 2, 1)).shape == (450 - 256, 600 - 512, 3)
    assert decoded(tile(0, 0, 0)).shape == (1, 1, 3)
    for level, col, row in [(12, 0, 0), (11, 5, 0), (11, 0, 4), (0, 1, 0)]:
        assert tile(level, col, row).status_code == 404
    # the thumbnail comes from the pyramid; the original is still served as uploaded
    thumb = decoded(client.get(created["thumbnail_url"]))
    assert thumb.shape == (192, 256, 3)
    assert np.abs(thumb[64, 171].astype(int) - (220, 30, 30)).max() < 25
    assert b"".join(client.get(created["file_url"]).streaming_content) == jpeg_bytes(big_pixels())
    image = Image.objects.get(pk=created["id"])
    assert inference_path(image) == str(pyramid_root(image.sha256))
    # a small image is shown from its file
    assert client.get(f"/api/images/{world.free_image.pk}/").json()["tiles"] is None
    assert inference_path(world.free_image) == world.free_image.file.path


def test_tiles_go_only_to_who_may_see_the_image(world: World) -> None:
    [created] = post(world, upload("big.jpg", jpeg_bytes(big_pixels()))).json()["created"]
    url = created["tiles"]["url"].format(level=11, col=0, row=0)
    assert world.client("manager").get(url).status_code == 200
    assert world.client("admin").get(url).status_code == 200
    # the annotator sees only their batch's images, the outsider no image of the project
    assert world.client("annotator").get(url).status_code == 404
    assert world.client("outsider").get(url).status_code == 404
    assert world.client("anonymous").get(url).status_code in {401, 403}
    Image.objects.filter(pk=created["id"]).update(batch=world.batch)
    assert world.client("annotator").get(url).status_code == 200
    assert world.client("reviewer").get(url).status_code == 200


def test_a_truncated_large_file_is_refused_and_nothing_is_left(world: World, settings) -> None:
    data = jpeg_bytes(big_pixels())
    before = Image.objects.count()
    response = post(world, upload("cut.jpg", data[: len(data) // 2]))
    assert response.status_code == 400
    [detail] = response.json()["details"]
    assert detail["error"] == "corrupt_image" and "truncated or corrupt" in detail["detail"]
    assert Image.objects.count() == before
    assert not (settings.MEDIA_ROOT / "tiles").exists() or not any((settings.MEDIA_ROOT / "tiles").iterdir())


def test_above_the_tiled_limit_is_refused_with_the_setting_named(world: World, settings) -> None:
    settings.MAX_TILED_PIXELS = 1_000_000
    response = post(world, upload("huge.jpg", jpeg_bytes(big_pixels())))
    assert response.status_code == 400
    [detail] = response.json()["details"]
    assert detail["error"] == "image_too_large"
    assert "1,080,000 pixels" in detail["detail"] and "MAX_TILED_PIXELS" in detail["detail"]
    assert not Image.objects.filter(original_name="huge.jpg").exists()


def test_rotated_and_alpha_large_images_are_tiled_upright_16_bit_ones_are_not(world: World) -> None:
    pixels = big_pixels()
    exif = PILImage.Exif()
    exif[0x0112] = 6  # stored sideways: shown rotated 90° clockwise
    rotated = post(world, upload("turned.jpg", jpeg_bytes(np.ascontiguousarray(np.rot90(pixels, 1)), exif=exif)))
    [created] = rotated.json()["created"]
    assert (created["width"], created["height"]) == (WIDTH, HEIGHT)
    pyramid = Pyramid.open(pyramid_root(created["sha256"]))
    assert (pyramid.width, pyramid.height) == (WIDTH, HEIGHT)
    assert np.abs(pyramid.read(11, 790, 290, 20, 20).astype(int) - (220, 30, 30)).max() < 25  # the disk, upright

    rgba = np.dstack([pixels, np.full(pixels.shape[:2], 255, np.uint8)])
    rgba[:100, :100, 3] = 0  # transparent corner: white
    buffer = io.BytesIO()
    PILImage.fromarray(rgba).save(buffer, format="PNG")
    [png] = post(world, upload("alpha.png", buffer.getvalue())).json()["created"]
    pyramid = Pyramid.open(pyramid_root(png["sha256"]))
    assert (pyramid.read(11, 0, 0, 50, 50) > 240).all()

    deep = np.tile(np.linspace(0, 65535, WIDTH), (HEIGHT, 1)).astype(np.uint16)
    buffer = io.BytesIO()
    PILImage.fromarray(deep).save(buffer, format="PNG")
    response = post(world, upload("deep.png", buffer.getvalue()))
    assert response.status_code == 201, response.content
    # 16-bit (and float, multi-band, georeferenced) images are shown through a display mapping: not tiled here
    assert response.json()["created"][0]["tiles"] is None


def test_the_pyramid_is_kept_once_and_goes_with_the_last_image_of_its_content(
    world: World, settings, django_capture_on_commit_callbacks
) -> None:
    data = jpeg_bytes(big_pixels())
    [first] = post(world, upload("big.jpg", data)).json()["created"]
    root = pyramid_root(first["sha256"])
    other = project_create(name="Other", created_by=world.users["manager"])
    response = world.client("manager").post(f"/api/projects/{other.pk}/images/", {"files": [upload("same.jpg", data)]})
    [second] = response.json()["created"]
    assert second["tiles"] == {
        **first["tiles"],
        "url": first["tiles"]["url"].replace(str(first["id"]), str(second["id"])),
    }
    assert sorted(p.name for p in (settings.MEDIA_ROOT / "tiles").iterdir()) == [first["sha256"]]
    with django_capture_on_commit_callbacks(execute=True):
        assert world.client("manager").delete(f"/api/images/{first['id']}/").status_code == 204
    assert root.is_dir()  # the other project's image still shows it
    with django_capture_on_commit_callbacks(execute=True):
        assert world.client("manager").delete(f"/api/images/{second['id']}/").status_code == 204
    assert not root.exists()

    # Deleting a project takes its images' pyramids with it (unless another project has the same content).
    [third] = post(world, upload("big.jpg", data)).json()["created"]
    world.client("manager").post(f"/api/projects/{other.pk}/images/", {"files": [upload("same.jpg", data)]})
    with django_capture_on_commit_callbacks(execute=True):
        assert world.client("admin").delete(f"/api/projects/{world.project.pk}/").status_code == 204
    assert root.is_dir() and not Image.objects.filter(pk=third["id"]).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert world.client("manager").delete(f"/api/projects/{other.pk}/").status_code == 204
    assert not root.exists()


def test_sweep_removes_unreferenced_and_partial_pyramids_only(world: World, settings) -> None:
    [kept] = post(world, upload("big.jpg", jpeg_bytes(big_pixels()))).json()["created"]
    tiles = settings.MEDIA_ROOT / "tiles"
    orphan = tiles / ("ab" * 32)
    (orphan / "image_files" / "0").mkdir(parents=True)
    (orphan / "image.dzi").write_text("<Image/>")
    partial = tiles / f".partial-{'cd' * 32}-1234abcd"
    partial.mkdir()
    fresh = tiles / ("ef" * 32)
    fresh.mkdir()
    old = time.time() - 7200
    for path in (orphan, partial, tiles / kept["sha256"]):
        os.utime(path, (old, old))
    removed = sweep_orphans(older_than_s=3600)
    assert f"tiles/{orphan.name}/" in removed and f"tiles/{partial.name}/" in removed
    assert not orphan.exists() and not partial.exists()
    assert (tiles / kept["sha256"]).is_dir() and fresh.is_dir()  # referenced; too recent to judge
    assert world.client("manager").get(kept["tiles"]["url"].format(level=11, col=0, row=0)).status_code == 200


def test_small_images_keep_the_whole_decode_path(world: World) -> None:
    response = post(world, upload("small.png", png_bytes(600, 400, seed=9)))
    [created] = response.json()["created"]
    assert created["tiles"] is None


def test_exports_ship_a_tiled_image_upright_without_decoding_it_whole(world: World) -> None:
    from backend.exports.image_files import upright_bytes

    pixels = big_pixels()
    exif = PILImage.Exif()
    exif[0x0112] = 6
    [turned] = post(
        world, upload("turned.jpg", jpeg_bytes(np.ascontiguousarray(np.rot90(pixels, 1)), exif=exif))
    ).json()["created"]
    [straight] = post(world, upload("straight.jpg", jpeg_bytes(pixels))).json()["created"]
    assert upright_bytes(Image.objects.get(pk=straight["id"])) is None  # copied as it is
    data = upright_bytes(Image.objects.get(pk=turned["id"]))
    with PILImage.open(io.BytesIO(data)) as shipped:
        assert shipped.format == "JPEG" and shipped.size == (WIDTH, HEIGHT)
        assert shipped.getexif().get(0x0112) in (None, 1)
        assert np.abs(np.asarray(shipped.convert("RGB")).astype(int)[290:310, 790:810] - (220, 30, 30)).max() < 30


def test_georeferenced_and_stacked_tiffs_are_left_to_the_display_mapping_path(world: World, tmp_path) -> None:
    import pyvips
    import tifffile

    plain, geo, stack, pyramidal = (tmp_path / f"{n}.tif" for n in ("plain", "geo", "stack", "pyramidal"))
    tifffile.imwrite(plain, big_pixels(), photometric="rgb")
    tifffile.imwrite(geo, big_pixels(), photometric="rgb", extratags=[(33550, "d", 3, (10.0, 10.0, 0.0), True)])
    tifffile.imwrite(stack, np.stack([big_pixels()[..., 0]] * 3), photometric="minisblack")  # 3 slices
    pixels = big_pixels()
    vips = pyvips.Image.new_from_memory(pixels.tobytes(), WIDTH, HEIGHT, 3, "uchar")
    vips.tiffsave(str(pyramidal), tile=True, pyramid=True, compression="jpeg", Q=90)  # a whole-slide layout
    [tiled] = post(world, upload("plain.tif", plain.read_bytes())).json()["created"]
    assert tiled["tiles"] is not None and tiled["format"] == "TIFF"
    [slide] = post(world, upload("pyramidal.tif", pyramidal.read_bytes())).json()["created"]
    assert slide["tiles"] is not None and (slide["width"], slide["height"]) == (WIDTH, HEIGHT)
    for path in (geo, stack):
        response = post(world, upload(path.name, path.read_bytes()))
        assert response.status_code == 201, response.content
        assert response.json()["created"][0]["tiles"] is None, path.name


def test_a_failed_upload_takes_the_pyramid_it_placed_with_it(world: World, settings) -> None:
    import hashlib
    from pathlib import Path

    data = jpeg_bytes(big_pixels())
    sha = hashlib.sha256(data).hexdigest()
    # The filesystem refuses the thumbnail (a folder sits where it goes), after the pyramid was placed.
    blocker = Path(settings.MEDIA_ROOT) / f"projects/{world.project.pk}/thumbnails/{sha}.jpg"
    blocker.mkdir(parents=True)
    client = world.client("manager")
    client.raise_request_exception = False
    response = client.post(f"/api/projects/{world.project.pk}/images/", {"files": [upload("big.jpg", data)]})
    assert response.status_code == 500
    assert not Image.objects.filter(sha256=sha).exists()
    assert not pyramid_root(sha).exists()
    blocker.rmdir()
    again = post(world, upload("big.jpg", data))  # and the same upload then works
    assert again.status_code == 201 and again.json()["created"][0]["tiles"] is not None


def test_a_tiled_images_object_exports_to_coco_in_full_resolution(world: World, monkeypatch, tmp_path) -> None:
    from pycocotools.coco import COCO

    from backend.annotations import geometry
    from backend.annotations.services import object_create
    from ml.postprocess.rle import rle_to_mask
    from tests.exporting import exported_archive

    monkeypatch.setattr(geometry, "LOCAL_RASTER_MIN_PIXELS", 0)  # shaped within its box, as on a gigapixel image
    data = jpeg_bytes(big_pixels())
    [created] = post(world, upload("big.jpg", data)).json()["created"]
    image = Image.objects.get(pk=created["id"])
    disk = [[800 + 120 * np.cos(a), 300 + 120 * np.sin(a)] for a in np.linspace(0, 2 * np.pi, 48, endpoint=False)]
    obj = object_create(
        image=image, author=world.users["manager"], label_id=world.label.pk, polygons=[{"outer": disk, "holes": []}]
    )
    assert obj.mask_rle["size"] == [HEIGHT, WIDTH] and obj.bbox[:2] == [680.0, 180.0]
    archive = exported_archive(world, format="coco")
    assert archive.read("images/big.jpg") == data  # the original, as uploaded
    (tmp_path / "instances.json").write_bytes(archive.read("annotations/instances_default.json"))
    coco = COCO(str(tmp_path / "instances.json"))
    [annotation] = coco.loadAnns(coco.getAnnIds(imgIds=[image.pk]))
    assert annotation["bbox"] == obj.bbox and annotation["area"] == obj.area
    np.testing.assert_array_equal(coco.annToMask(annotation).astype(bool), rle_to_mask(obj.mask_rle))
