"""Checking an uploaded file really is a whole image of acceptable size, before anything is stored.

Images are read from their staged files on disk; the decoded pixels are bounded by MAX_IMAGE_PIXELS.
"""

import io
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from PIL import Image as PILImage
from PIL import ImageOps, UnidentifiedImageError

from backend.common.errors import InvalidInput
from backend.images.content_types import CONTENT_TYPES
from backend.images.sources import Source, SourceInfo, open_source
from backend.images.staging import StagedFile
from ml.inference.image import ROTATED_ORIENTATIONS, exif_orientation

ACCEPTED_FORMATS = frozenset(CONTENT_TYPES)  # each with the only content type it is served with


@dataclass(frozen=True)
class CheckedImage:
    name: str
    path: Path
    size: int
    sha256: str
    width: int
    height: int
    format: str
    source: Source | None = None  # set for files shown through a display mapping (16-bit, DICOM…)

    @property
    def source_info(self) -> SourceInfo | None:
        return self.source.info if self.source else None


def check_image(*, staged: StagedFile) -> CheckedImage:
    """Decode the whole file once; raise InvalidInput with a reason a person understands."""
    name = staged.name
    if staged.size == 0:
        raise InvalidInput(f"{name}: the file is empty.", code="empty_file")
    source = open_source(staged.path, name)
    if source is not None:
        info = source.info
        return CheckedImage(name, staged.path, staged.size, staged.sha256, info.width, info.height, info.format, source)
    try:
        with PILImage.open(staged.path) as probe:
            width, height, fmt = probe.width, probe.height, probe.format or ""
            if exif_orientation(probe) in ROTATED_ORIENTATIONS:
                width, height = height, width  # browsers and the model see the image upright
    except PILImage.DecompressionBombError as exc:
        raise InvalidInput(f"{name}: {exc}", code="image_too_large") from exc
    except UnidentifiedImageError as exc:
        raise InvalidInput(f"{name}: not an image file (or a format we do not read).", code="not_an_image") from exc
    except Exception as exc:  # noqa: BLE001 - any header parse failure is bad input
        raise InvalidInput(f"{name}: unreadable image header ({exc}).", code="not_an_image") from exc
    if fmt not in ACCEPTED_FORMATS:
        raise InvalidInput(f"{name}: format {fmt or 'unknown'} is not accepted.", code="unsupported_format")
    limit = settings.MAX_IMAGE_PIXELS
    if width * height > limit:
        raise InvalidInput(
            f"{name}: {width}×{height} = {width * height:,} pixels is above the limit of {limit:,}.",
            code="image_too_large",
        )
    _decode_fully(name, staged.path)
    return CheckedImage(name, staged.path, staged.size, staged.sha256, width, height, fmt)


def _decode_fully(name: str, path: Path) -> None:
    try:
        with PILImage.open(path) as img:
            img.load()
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt pixel data
        raise InvalidInput(f"{name}: the image data is truncated or corrupt ({exc}).", code="corrupt_image") from exc


def source_thumbnail(source: Source, size: int) -> bytes:
    """The thumbnail of a source: its middle slice under its default display mapping."""
    from backend.images.renderings import render_slice

    rgb = render_slice(source, source.info.slices // 2, source.info.display)
    thumb = PILImage.fromarray(rgb)
    thumb.thumbnail((size, size))
    out = io.BytesIO()
    thumb.save(out, format="JPEG", quality=85)
    return out.getvalue()


def make_thumbnail(path: Path, size: int) -> bytes:
    with PILImage.open(path) as img:
        img.draft("RGB", (size, size))
        thumb = ImageOps.exif_transpose(img).convert("RGB")
        thumb.thumbnail((size, size))
    out = io.BytesIO()
    thumb.save(out, format="JPEG", quality=85)
    return out.getvalue()
