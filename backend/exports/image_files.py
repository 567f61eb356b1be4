"""The image files an export ships: upright pixels, so that readers ignoring EXIF see what the annotator saw.

The app records and shows an image with its EXIF orientation applied (width and height swapped for 5–8) and
masks are drawn on those upright pixels. A stored file whose orientation tag is not 1 is therefore re-encoded
upright for the archive, in its own format: JPEG at quality 95 with the orientation tag removed (the rest of
its EXIF and its ICC profile kept), PNG, TIFF and WebP losslessly. Files already upright are copied as they are.
"""

import io
from pathlib import Path

from PIL import Image as PILImage
from PIL import ImageOps

from backend.images import large
from backend.images.models import Image
from backend.images.tiles import pyramid_of
from ml.inference.image import UPRIGHT, exif_orientation

JPEG_QUALITY = 95


def _encode(upright: PILImage.Image, fmt: str, icc_profile: bytes | None) -> bytes:
    options: dict = {"icc_profile": icc_profile} if icc_profile else {}
    exif = upright.getexif()  # exif_transpose removed the orientation tag
    if len(exif) and fmt in {"JPEG", "PNG", "WEBP"}:
        options["exif"] = exif.tobytes()
    if fmt == "JPEG":
        options |= {"quality": JPEG_QUALITY, "subsampling": 0}
    elif fmt == "WEBP":
        options |= {"lossless": True, "quality": 100}
    elif fmt == "TIFF":
        options["compression"] = "tiff_deflate"
    buffer = io.BytesIO()
    upright.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def upright_bytes(image: Image) -> bytes | None:
    """The stored file's pixels turned upright and re-encoded, or None when the stored file is upright already
    (photos only: sources are shipped as their rendering, or as stored)."""
    if pyramid_of(image) is not None:  # a gigapixel image: never decoded whole
        return large.upright_bytes(Path(image.file.path), image.format)
    with image.file.open("rb") as source, PILImage.open(source) as stored:
        if exif_orientation(stored) not in UPRIGHT:  # None, 1 or a value no reader applies
            return None
        fmt = stored.format or image.format
        icc_profile = stored.info.get("icc_profile")
        upright = ImageOps.exif_transpose(stored)
        return _encode(upright, fmt, icc_profile)


def deidentified_dicom(image: Image) -> bytes:
    """A stored DICOM file (or series) without its patient-identifying attributes."""
    from pathlib import Path

    from backend.images.sources.dicom import deidentified, is_dicom
    from backend.images.sources.dicom_series import deidentified_series

    path = Path(image.file.path)
    return deidentified(path) if is_dicom(path) else deidentified_series(path)
