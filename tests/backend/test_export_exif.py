"""EXIF-rotated uploads are exported upright: a reader ignoring EXIF sees the image and its masks agree."""

import io
import json

import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageOps

from backend.annotations.services import object_create
from backend.exports.image_files import upright_bytes
from backend.images.services import images_upload
from ml.postprocess import rle_to_mask
from tests.conftest import World, upload
from tests.exporting import exported_archive

ORIENTATION = 0x0112


def sideways_photo(fmt: str = "JPEG", orientation: int = 6) -> bytes:
    """Stored 600×400 (orientation 6) or 600×400 upside down (3): shading and a bright block that is at
    x 300–339, y 100–179 once upright."""
    height, width = (600, 400) if orientation == 6 else (400, 600)  # upright
    ys, xs = np.mgrid[0:height, 0:width]
    pixels = np.stack([xs * 255 // width, ys * 255 // height, np.full_like(xs, 60)], axis=-1).astype(np.uint8)
    pixels[100:180, 300:340] = (250, 250, 250)
    # exif_transpose turns orientation 6 with ROTATE_270 and 3 with ROTATE_180: store the inverse.
    inverse = {6: PILImage.Transpose.ROTATE_90, 3: PILImage.Transpose.ROTATE_180}[orientation]
    stored = PILImage.fromarray(pixels).transpose(inverse)
    exif = PILImage.Exif()
    exif[ORIENTATION] = orientation
    buffer = io.BytesIO()
    options = {"quality": 95} if fmt == "JPEG" else {"lossless": True} if fmt == "WEBP" else {}
    stored.save(buffer, format=fmt, exif=exif.tobytes(), **options)
    return buffer.getvalue()


def test_a_sideways_jpeg_exports_upright_with_masks_in_line(world: World) -> None:
    data = sideways_photo()
    (image,) = images_upload(
        project=world.project, files=[upload("side.jpg", data)], uploaded_by=world.users["manager"]
    ).created
    assert (image.width, image.height) == (400, 600)  # recorded upright
    # The annotator outlines the bright block as the app shows it (upright): pixel centres 300..339 × 100..179.
    block = [{"outer": [[300, 100], [339, 100], [339, 179], [300, 179]], "holes": []}]
    obj = object_create(image=image, author=world.users["manager"], label_id=world.label.pk, polygons=block)
    shown = np.asarray(ImageOps.exif_transpose(PILImage.open(io.BytesIO(data))).convert("RGB"), dtype=np.int16)

    voc = exported_archive(world, format="voc")
    with PILImage.open(io.BytesIO(voc.read("JPEGImages/side.jpg"))) as plain:  # no exif_transpose: EXIF ignored
        assert plain.format == "JPEG" and plain.size == (400, 600)
        assert plain.getexif().get(ORIENTATION, 1) == 1
        pixels = np.asarray(plain.convert("RGB"), dtype=np.int16)
    difference = np.abs(pixels - shown)
    assert difference.mean() < 1.5 and np.percentile(difference, 99.9) < 16  # JPEG quality 95 re-encoding
    classes = np.asarray(PILImage.open(io.BytesIO(voc.read("SegmentationClass/side.png"))))
    assert classes.shape == pixels.shape[:2]
    mask = rle_to_mask(obj.mask_rle).astype(bool)
    assert (classes[mask] == 1).all() and (classes[~mask] == 0).all()
    bright = pixels.min(axis=-1) > 200  # the block, as a reader ignoring EXIF sees it
    assert (bright & mask).sum() / (bright | mask).sum() > 0.98  # the mask sits on it

    coco = exported_archive(world, format="coco")
    assert coco.read("images/side.jpg") == voc.read("JPEGImages/side.jpg")
    (record,) = [
        i for i in json.loads(coco.read("annotations/instances_default.json"))["images"] if i["id"] == image.pk
    ]
    assert (record["width"], record["height"]) == (400, 600)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "TIFF"])
def test_lossless_formats_turn_upright_exactly(world: World, fmt: str) -> None:
    data = sideways_photo(fmt, orientation=3)
    name = f"turned.{fmt.lower()}"
    (image,) = images_upload(
        project=world.project, files=[upload(name, data)], uploaded_by=world.users["manager"]
    ).created
    upright = upright_bytes(image)
    assert upright is not None
    with PILImage.open(io.BytesIO(upright)) as written, PILImage.open(io.BytesIO(data)) as original:
        assert written.format == fmt and written.getexif().get(ORIENTATION, 1) == 1
        np.testing.assert_array_equal(np.asarray(written), np.asarray(ImageOps.exif_transpose(original)))


def test_upright_files_are_copied_as_they_are(world: World) -> None:
    assert upright_bytes(world.free_image) is None
    archive = exported_archive(world, format="voc")
    assert archive.read("JPEGImages/b.png") == world.free_image.file.open("rb").read()
