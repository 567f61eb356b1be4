"""Property tests of the upload readers: whatever bytes arrive, unpacking and decoding end in InvalidInput or
TooLarge (a clear 400 or 413), never another exception, and in bounded time."""

import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image as PILImage

from backend.common.errors import InvalidInput, TooLarge
from backend.images.archives import stage_zip_images
from backend.images.decoding import check_image
from backend.images.staging import UploadBudget, stage

# Pillow and zipfile warn about what they skip in malformed input or refuse as too large (and zip_of about duplicate
# names): expected here.
pytestmark = [
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning"),
]
FUZZ = settings(
    max_examples=150, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
LIMITS = {"MAX_UPLOAD_BYTES": 2 * 1024 * 1024, "MAX_IMAGE_PIXELS": 1_000_000, "MAX_ZIP_MEMBERS": 40}
FORMATS = ["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"]


def image_bytes(fmt: str, width: int = 24, height: int = 16) -> bytes:
    pixels = np.random.default_rng(width * height).integers(0, 255, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


SAMPLES = {fmt: image_bytes(fmt) for fmt in FORMATS}


def zip_of(entries: list[tuple[str, bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data, compression in entries:
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)
    return buffer.getvalue()


@st.composite
def mutated(draw, base: st.SearchStrategy[bytes]) -> bytes:
    """Bytes with a few positions overwritten, a slice cut out or repeated, or the tail cut off."""
    data = bytearray(draw(base))
    for _ in range(draw(st.integers(0, 8))):
        if not data:
            break
        kind = draw(st.sampled_from(["set", "cut", "repeat", "truncate"]))
        at = draw(st.integers(0, len(data) - 1))
        if kind == "set":
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "repeat":
            data[at:at] = data[at : at + draw(st.integers(1, 64))] * draw(st.integers(1, 4))
        else:
            del data[at:]
    return bytes(data)


def unpack_and_check(archive: bytes) -> None:
    """What an upload does with a zip: stage its images, then check each one."""
    with tempfile.TemporaryDirectory() as directory:
        staged = stage_zip_images(
            name="fuzz.zip", stream=io.BytesIO(archive), directory=Path(directory), budget=UploadBudget(2 * 1024**2)
        )
        for item in staged:
            try:
                checked = check_image(staged=item)
            except InvalidInput:
                continue
            assert checked.width > 0 and checked.height > 0 and checked.format in FORMATS


def only_clear_errors(run, *args) -> None:
    with override_settings(**LIMITS):
        try:
            run(*args)
        except (InvalidInput, TooLarge) as exc:
            assert exc.message and exc.code


ENTRY_NAMES = st.builds(
    lambda folder, stem, suffix: folder + stem + suffix,
    st.sampled_from(["", "dir/", "../", "/", "C:", ".hidden/", "a/../../"]),
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=0, max_size=12),
    st.sampled_from([".png", ".JPG", ".tif", ".gif", ".webp", ".bmp", ".txt", ""]),
)
ENTRY_DATA = st.one_of(
    st.binary(max_size=512), st.sampled_from(list(SAMPLES.values())), mutated(st.sampled_from(list(SAMPLES.values())))
)
COMPRESSIONS = st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])


@FUZZ
@given(st.binary(max_size=2048))
def test_random_bytes_as_a_zip(data: bytes) -> None:
    only_clear_errors(unpack_and_check, data)


@FUZZ
@given(st.lists(st.tuples(ENTRY_NAMES, ENTRY_DATA, COMPRESSIONS), max_size=6))
def test_random_zip_contents(entries) -> None:
    only_clear_errors(unpack_and_check, zip_of(entries))


@FUZZ
@given(mutated(st.just(zip_of([("a.png", SAMPLES["PNG"], zipfile.ZIP_DEFLATED), ("b/c.jpg", SAMPLES["JPEG"], 0)]))))
def test_mutated_zips(data: bytes) -> None:
    only_clear_errors(unpack_and_check, data)


def stage_and_check(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        staged = stage(
            name="x.img", source=io.BytesIO(data), directory=Path(directory), budget=UploadBudget(2 * 1024**2)
        )
        checked = check_image(staged=staged)
        assert checked.width * checked.height <= LIMITS["MAX_IMAGE_PIXELS"]


@FUZZ
@given(st.one_of(st.binary(max_size=1024), mutated(st.sampled_from(list(SAMPLES.values())))))
def test_random_and_mutated_image_bytes(data: bytes) -> None:
    only_clear_errors(stage_and_check, data)
