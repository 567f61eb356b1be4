"""Bring any reasonable image array to RGB uint8 H×W×3 (what the networks were trained on).

- H×W or H×W×1 grayscale → replicated to 3 channels;
- H×W×2 (gray + alpha) and H×W×4 (RGBA) → composited over a white background, alpha dropped;
- H×W×3 is taken as RGB (convert OpenCV's BGR before calling);
- uint16 (and other wide integer types) → full range mapped to 0–255 (``65535 → 255``), the way browsers
  display 16-bit PNGs; floats are taken as 0–1 when their maximum is ≤ 1, else as 0–255; bool → 0/255.
"""

from __future__ import annotations

import numpy as np
from PIL import Image as PILImage
from PIL import ImageOps

BACKGROUND = 255.0


def to_uint8_range(image: np.ndarray) -> np.ndarray:
    """Any dtype → float32 with values in [0, 255] (same shape)."""
    if image.dtype == np.bool_:
        return image.astype(np.float32) * 255.0
    if image.dtype == np.uint8:
        return image.astype(np.float32)
    if np.issubdtype(image.dtype, np.integer):
        top = float(np.iinfo(image.dtype).max)
        scale = 255.0 / top if top > 255 else 1.0
        return np.clip(image.astype(np.float32) * scale, 0.0, 255.0)
    if np.issubdtype(image.dtype, np.floating):
        values = np.nan_to_num(image.astype(np.float32), nan=0.0, posinf=255.0, neginf=0.0)
        scale = 255.0 if values.size and values.max() <= 1.0 else 1.0
        return np.clip(values * scale, 0.0, 255.0)
    raise ValueError(f"unsupported image dtype {image.dtype}")


def _composite(color: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Blend ``color`` (H×W×C, 0–255) over a white background with ``alpha`` (H×W×1, 0–255)."""
    weight = alpha / 255.0
    return color * weight + BACKGROUND * (1.0 - weight)


def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Convert ``image`` to a C-contiguous RGB uint8 H×W×3 array (see module docstring)."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (2, 3, 4)):
        raise ValueError(f"expected an H×W, H×W×1, H×W×2, H×W×3 or H×W×4 image, got shape {image.shape}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"empty image of shape {image.shape}")
    if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
        return np.ascontiguousarray(image)
    values = to_uint8_range(image)
    if values.ndim == 2:
        values = values[:, :, None]
    if values.shape[2] in (2, 4):
        values = _composite(values[:, :, :-1], values[:, :, -1:])
    if values.shape[2] == 1:
        values = np.repeat(values, 3, axis=2)
    return np.ascontiguousarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))


# ------------------------------------------------------------------ image files as a browser shows them
EXIF_ORIENTATION = 0x0112
ROTATED_ORIENTATIONS = {5, 6, 7, 8}  # shown upright, the width and height swap
# The transpose that shows an image upright, per EXIF orientation (what ImageOps.exif_transpose does).
UPRIGHT = {
    2: PILImage.Transpose.FLIP_LEFT_RIGHT,
    3: PILImage.Transpose.ROTATE_180,
    4: PILImage.Transpose.FLIP_TOP_BOTTOM,
    5: PILImage.Transpose.TRANSPOSE,
    6: PILImage.Transpose.ROTATE_270,
    7: PILImage.Transpose.TRANSVERSE,
    8: PILImage.Transpose.ROTATE_90,
}


def exif_orientation(img: PILImage.Image) -> int | None:
    """The EXIF orientation tag of an opened image, or None (also when its metadata cannot be read)."""
    try:
        return img.getexif().get(EXIF_ORIENTATION)
    except Exception:  # noqa: BLE001 - unreadable metadata does not make the pixels unreadable
        return None


def read_upright_rgb(img: PILImage.Image) -> np.ndarray:
    """The whole image as shown in a browser (EXIF orientation applied), RGB uint8."""
    upright = ImageOps.exif_transpose(img)
    return to_rgb_uint8(np.asarray(displayable(upright)))


def displayable(img: PILImage.Image) -> PILImage.Image:
    """``img`` in a mode NumPy and resizing handle as the browser shows it (palette and the like to RGB(A))."""
    if img.mode in {"P", "PA", "LA"}:
        return img.convert("RGBA")
    if img.mode in {"CMYK", "YCbCr", "LAB", "HSV", "1"}:
        return img.convert("RGB")
    return img
