"""Uploads above ``TILED_MIN_PIXELS``: checked, thumbnailed and turned into a tile pyramid streaming.

libvips (pyvips) reads the file once, sequentially, a few rows at a time, and writes the Deep Zoom pyramid as it
goes (``dzsave``): the whole image is never in memory, so a 20000×20000 upload costs a few hundred MB whatever its
format. Every pixel is decoded while the pyramid is written, so a truncated or corrupt file is refused
(``fail_on="error"``) before anything is stored. The limit is ``MAX_TILED_PIXELS``, what the tiled path can take.
The thumbnail comes from a small level of the pyramid.
"""

import io
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from PIL import Image as PILImage

from backend.common.errors import InvalidInput
from backend.images import tiles
from backend.images.decoding import ACCEPTED_FORMATS, CheckedImage
from backend.images.staging import StagedFile
from ml.inference.pyramid import DZI_NAME, Pyramid

LOADERS = {  # libvips loader → the format name the rest of the app uses (Pillow's)
    "jpegload": "JPEG",
    "pngload": "PNG",
    "tiffload": "TIFF",
    "webpload": "WEBP",
    "gifload": "GIF",
}
ROTATED = {5, 6, 7, 8}  # EXIF orientations that swap width and height


@dataclass(frozen=True)
class LargeImage(CheckedImage):
    """A checked image above TILED_MIN_PIXELS, with the pyramid built from it (in the upload's staging folder)."""

    pyramid: Path | None = None


def _vips():
    import pyvips  # imported on the first large upload, not with the web process

    logging.getLogger("pyvips").setLevel(logging.WARNING)  # not one INFO line per libvips thread pool
    return pyvips


def _open(path: Path, access: str):
    return _vips().Image.new_from_file(str(path), access=access, fail_on="error")


def _header(path: Path) -> tuple[int, int, str, int] | None:
    """``(width, height, format, orientation)`` as stored, or ``None`` when libvips does not read the file or it
    is not an 8-bit photo (1–4 bands of 8 bits, no georeferencing): 16-bit, float, multi-band and georeferenced
    images are shown through a display mapping, the ordinary path's business."""
    try:
        image = _open(path, "sequential")
        loader = image.get("vips-loader") if image.get_typeof("vips-loader") else ""
        orientation = int(image.get("orientation")) if image.get_typeof("orientation") else 1
        if image.format != "uchar" or image.bands > 4 or (loader == "tiffload" and not _plain_tiff(path)):
            return None
        return image.width, image.height, LOADERS.get(loader, loader or "unknown"), orientation
    except Exception:  # noqa: BLE001 - not ours to judge: the Pillow path says why
        return None


GEO_TAGS = {33550, 33922, 34264, 34735}  # ModelPixelScale, ModelTiepoint, ModelTransformation, GeoKeyDirectory


def _plain_tiff(path: Path) -> bool:
    """Neither georeferenced nor a stack (pages of the first page's size: slices); a pyramidal TIFF, whose later
    pages are smaller, is plain: its first page is the image."""
    import tifffile

    with tifffile.TiffFile(path) as tif:
        first = tif.pages.first
        if any(tag.code in GEO_TAGS for tag in first.tags.values()):
            return False
        return all(tif.pages[index].shape != first.shape for index in range(1, min(len(tif.pages), 4)))


def check_large(*, staged: StagedFile) -> LargeImage | None:
    """A large image checked and made into a pyramid; ``None`` for an image the ordinary path takes (at most
    TILED_MIN_PIXELS, or a file libvips does not read, whose error the ordinary check reports)."""
    header = _header(staged.path)
    if header is None:
        return None
    width, height, fmt, orientation = header
    if orientation in ROTATED:
        width, height = height, width
    if width * height <= settings.TILED_MIN_PIXELS:
        return None
    name = staged.name
    if fmt not in ACCEPTED_FORMATS:
        raise InvalidInput(f"{name}: format {fmt} is not accepted.", code="unsupported_format")
    limit = settings.MAX_TILED_PIXELS
    if width * height > limit:
        raise InvalidInput(
            f"{name}: {width}×{height} = {width * height:,} pixels is above the limit of {limit:,} "
            "(MAX_TILED_PIXELS, the largest image the tiled path takes).",
            code="image_too_large",
        )
    built = staged.path.parent / f"{staged.path.name}.pyramid"
    try:
        build_pyramid(staged.path, built, orientation=orientation)
        pyramid = Pyramid.open(built)
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt pixel data, found while decoding it all
        raise InvalidInput(
            f"{name}: the image data is truncated or corrupt ({_first_line(exc)}).", code="corrupt_image"
        ) from exc
    if (pyramid.width, pyramid.height) != (width, height):
        raise InvalidInput(f"{name}: the image data does not match its header.", code="corrupt_image")
    return LargeImage(
        name=name,
        path=staged.path,
        size=staged.size,
        sha256=staged.sha256,
        width=width,
        height=height,
        format=fmt,
        pyramid=built,
    )


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[-1] if text else type(exc).__name__)[:300]


def build_pyramid(source: Path, folder: Path, *, orientation: int = 1) -> None:
    """Write the Deep Zoom pyramid of ``source`` (upright, 8-bit sRGB, alpha flattened on white) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".upright-") as scratch:
        image = _upright(source, orientation, Path(scratch))
        _rgb8(image).dzsave(
            str(folder / Path(DZI_NAME).stem),
            tile_size=tiles.TILE_SIZE,
            overlap=0,
            depth="onepixel",
            layout="dz",
            suffix=f".{tiles.TILE_SUFFIX}[Q=85]",
            keep="none",
        )


def _upright(source: Path, orientation: int, scratch: Path):
    """The image upright. An EXIF rotation needs random access to the whole image: the pixels are first copied,
    streaming, to a tiled TIFF in ``scratch``, which the rotation then reads tile by tile (a few hundred MB at
    most; decoding a 20000×20000 JPEG for random access would map 1.2 GB)."""
    if orientation == 1:
        return _open(source, "sequential")
    tiled = scratch / "upright.tif"
    _open(source, "sequential").write_to_file(f"{tiled}[tile,tile_width=512,tile_height=512,compression=lzw]")
    return _open(tiled, "random").autorot()


def _rgb8(image):
    if image.hasalpha():
        image = image.flatten(background=[255] * (image.bands - 1))
    if image.interpretation not in ("srgb",) or image.format != "uchar":
        image = image.colourspace("srgb")
    if image.format != "uchar":
        image = image.cast("uchar")
    if image.bands > 3:
        image = image.extract_band(0, n=3)
    return image


def thumbnail(checked: LargeImage, size: int) -> bytes:
    """The JPEG thumbnail (longer side ``size``) from the smallest level of the pyramid at least that large."""
    assert checked.pyramid is not None
    pyramid = Pyramid.open(checked.pyramid)
    level = next((lv for lv in range(pyramid.levels) if max(pyramid.level_size(lv)) >= size), pyramid.max_level)
    thumb = PILImage.fromarray(pyramid.read_level(level))
    thumb.thumbnail((size, size))
    out = io.BytesIO()
    thumb.save(out, format="JPEG", quality=85)
    return out.getvalue()


def store(checked: CheckedImage, written: list[str]) -> bytes | None:
    """For a large image: keep its pyramid (listed in ``written`` if this call placed it, so that a failed upload
    removes it) and return its thumbnail; ``None`` for any other image."""
    if not isinstance(checked, LargeImage) or checked.pyramid is None:
        return None
    thumb = thumbnail(checked, settings.THUMBNAIL_SIZE)
    if tiles.keep_pyramid(built=checked.pyramid, sha256=checked.sha256):
        written.append(tiles.pyramid_name(checked.sha256))
    return thumb


def upright_bytes(path: Path, fmt: str) -> bytes | None:
    """A tiled image's file turned upright for an export, streaming (libvips; an EXIF rotation through a temporary
    disc file), or ``None`` when it is upright already (copied as it is)."""
    header = _header(path)
    if header is None or header[3] in (1, 0) or not 1 <= header[3] <= 8:
        return None
    options = {"JPEG": "[Q=95,subsample_mode=off]", "WEBP": "[lossless=true]", "TIFF": "[compression=deflate]"}
    suffix = {"JPEG": ".jpg", "PNG": ".png", "TIFF": ".tif", "WEBP": ".webp", "GIF": ".gif"}.get(fmt, ".png")
    with tempfile.TemporaryDirectory(prefix="edgeflow-upright-") as scratch:
        image = _upright(path, header[3], Path(scratch)).copy()
        image.remove("orientation")
        return image.write_to_buffer(suffix + options.get(fmt, ""))
