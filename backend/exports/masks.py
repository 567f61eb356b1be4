"""Label masks: one grayscale label PNG and one pseudo-colour PNG per image (the paper's tool's "segmentation
mask" and "pseudo colour" exports).

Layout: ``images/`` (the image files), ``masks/<stem>.png`` (8-bit grayscale, mode ``L``: pixel = the label's
index in the project's label order, from 1; 0 = background; 16-bit ``I;16`` when a project has over 255
labels), ``pseudo_color/<stem>.png`` (palette PNG, mode ``P``, the same indices painted with the standard
Pascal VOC colormap; not written for projects of over 255 labels) and ``labels.txt`` (line i names index i,
line 0 ``background``). Where objects overlap, the later object (in creation order) is painted over the earlier
one, as on the canvas.
"""

import io
from collections.abc import Iterator

import numpy as np
from PIL import Image as PILImage

from backend.exports.contents import ExportContents, ExportedImage
from backend.exports.rings import stored_crop
from backend.exports.voc_labels import voc_colormap

IMAGES_DIR = "images"
GRAY_DIR = "masks"
PSEUDO_DIR = "pseudo_color"
LABELS_PATH = "labels.txt"
VOC_PALETTE = [channel for index in range(256) for channel in voc_colormap(index)]


def label_map(contents: ExportContents, exported: ExportedImage) -> np.ndarray:
    """The image's label indices (uint8, or uint16 past 255 labels); later objects over earlier ones."""
    dtype = np.uint8 if len(contents.labels) <= 255 else np.uint16
    indices = np.zeros((exported.image.height, exported.image.width), dtype)
    for obj in exported.objects:
        crop, x0, y0 = stored_crop(obj.mask_rle)
        indices[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]][crop] = contents.category_of(obj.label_id)
    return indices


def _png(image: PILImage.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)  # label maps compress well even so
    return buffer.getvalue()


def gray_png(indices: np.ndarray) -> bytes:
    if indices.dtype == np.uint8:
        return _png(PILImage.fromarray(indices, mode="L"))
    return _png(PILImage.fromarray(indices.astype("<u2"), mode="I;16"))


def pseudo_png(indices: np.ndarray) -> bytes:
    image = PILImage.fromarray(indices.astype(np.uint8), mode="P")
    image.putpalette(VOC_PALETTE)
    return _png(image)


def labels_text(contents: ExportContents) -> str:
    return "".join(f"{name}\n" for name in ["background", *(label.name for label in contents.labels)])


def mask_files(contents: ExportContents) -> Iterator[tuple[str, bytes]]:
    """(path in the archive, bytes) of everything but the image files themselves, one image at a time."""
    with_pseudo = len(contents.labels) <= 255
    for exported in contents.images:
        indices = label_map(contents, exported)
        yield f"{GRAY_DIR}/{exported.stem}.png", gray_png(indices)
        if with_pseudo:
            yield f"{PSEUDO_DIR}/{exported.stem}.png", pseudo_png(indices)
    yield LABELS_PATH, labels_text(contents).encode()
