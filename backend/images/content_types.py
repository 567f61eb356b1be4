"""The content type an image file is served with: that of the format it decoded as, never of its name."""

# The formats uploads are accepted in (backend.images.decoding), each with the only content type it is served with.
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
