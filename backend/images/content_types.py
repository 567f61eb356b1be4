"""The content type an image file is served with: that of the format it decoded as, never of its name."""

# Each accepted format (backend.images.decoding) and the only content type its files are ever served with.
CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}


def content_type_of(image_format: str) -> str | None:
    """The content type of a decoded format we accept; ``None`` for anything else (served as a download)."""
    return CONTENT_TYPES.get(image_format)
