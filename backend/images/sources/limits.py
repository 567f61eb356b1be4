"""The pixel bound every source reader checks from the header, before any pixel is read."""

from django.conf import settings

from backend.common.errors import InvalidInput


def check_pixels(name: str, width: int, height: int, slices: int) -> None:
    if width < 1 or height < 1 or slices < 1:
        raise InvalidInput(f"{name}: the image is empty ({width}×{height}×{slices}).", code="not_an_image")
    if width * height > settings.MAX_IMAGE_PIXELS:
        raise InvalidInput(
            f"{name}: {width}×{height} = {width * height:,} pixels per slice is above the limit of "
            f"{settings.MAX_IMAGE_PIXELS:,}.",
            code="image_too_large",
        )
    if width * height * slices > settings.MAX_SOURCE_SAMPLES:
        raise InvalidInput(
            f"{name}: {slices} slices of {width}×{height} is above the limit of {settings.MAX_SOURCE_SAMPLES:,} "
            "pixels in one volume (MAX_SOURCE_SAMPLES).",
            code="image_too_large",
        )
