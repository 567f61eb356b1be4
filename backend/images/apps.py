from django.apps import AppConfig
from django.conf import settings


class ImagesConfig(AppConfig):
    name = "backend.images"
    label = "images"

    def ready(self) -> None:
        from PIL import Image as PILImage

        # Uploads are checked against this limit before decoding; Pillow's own guard agrees with it.
        PILImage.MAX_IMAGE_PIXELS = settings.MAX_IMAGE_PIXELS
