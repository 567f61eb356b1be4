"""The paper's (and RITM's) training augmentation, applied jointly to an image, its object masks and ignore map.

In order: uniform random resize (scale 0.75–1.4), horizontal flip, zero padding up to the crop size, a
random crop of 320×480 (height×width) that keeps part of the target object, then with probability 0.75
each a brightness/contrast change (brightness ±0.25, contrast −0.15..+0.4, as albumentations'
``RandomBrightnessContrast``) and an RGB shift (±10 per channel).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentParams:
    crop_size: tuple[int, int] = (320, 480)
    scale_range: tuple[float, float] = (0.75, 1.4)
    flip_prob: float = 0.5
    color_prob: float = 0.75
    brightness: float = 0.25
    contrast_range: tuple[float, float] = (-0.15, 0.4)
    rgb_shift: float = 10.0


@dataclass(frozen=True)
class Augmented:
    """The crop: RGB uint8 h×w×3, ``target`` bool h×w, ``others`` bool h×w (other objects), ``ignore``."""

    image: np.ndarray
    target: np.ndarray
    others: np.ndarray
    ignore: np.ndarray


def _resize(array: np.ndarray, size: tuple[int, int], nearest: bool) -> np.ndarray:
    height, width = size
    interpolation = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
    return cv2.resize(array, (width, height), interpolation=interpolation)


def _crop_origin(target: np.ndarray, crop: tuple[int, int], rng: np.random.Generator) -> tuple[int, int]:
    """Top-left corner of a crop that contains a random pixel of the target (any crop if it is empty)."""
    height, width = target.shape
    max_top, max_left = height - crop[0], width - crop[1]
    ys, xs = np.nonzero(target)
    if len(ys) == 0:
        return int(rng.integers(0, max_top + 1)), int(rng.integers(0, max_left + 1))
    pick = int(rng.integers(len(ys)))
    y, x = int(ys[pick]), int(xs[pick])
    top = int(rng.integers(max(0, y - crop[0] + 1), min(max_top, y) + 1))
    left = int(rng.integers(max(0, x - crop[1] + 1), min(max_left, x) + 1))
    return top, left


def jitter_colours(image: np.ndarray, params: AugmentParams, rng: np.random.Generator) -> np.ndarray:
    """Brightness/contrast then RGB shift, each with probability ``color_prob``."""
    out = image.astype(np.float32)
    if rng.random() < params.color_prob:
        alpha = 1.0 + rng.uniform(*params.contrast_range)
        beta = rng.uniform(-params.brightness, params.brightness) * 255.0
        out = out * alpha + beta
    if rng.random() < params.color_prob:
        out = out + rng.uniform(-params.rgb_shift, params.rgb_shift, size=3).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def augment(
    image: np.ndarray,
    target: np.ndarray,
    others: np.ndarray,
    ignore: np.ndarray,
    params: AugmentParams,
    rng: np.random.Generator,
) -> Augmented:
    """Resize, flip, pad, crop and colour-jitter one sample (masks with nearest-neighbour resizing)."""
    height, width = target.shape
    scale = rng.uniform(*params.scale_range)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    masks = np.stack([target, others, ignore], axis=-1).astype(np.uint8)
    image, masks = _resize(image, size, nearest=False), _resize(masks, size, nearest=True)
    if rng.random() < params.flip_prob:
        image, masks = image[:, ::-1], masks[:, ::-1]
    crop_h, crop_w = params.crop_size
    pad_h, pad_w = max(0, crop_h - size[0]), max(0, crop_w - size[1])
    if pad_h or pad_w:
        image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)))
        masks = np.pad(masks, ((0, pad_h), (0, pad_w), (0, 0)))
    top, left = _crop_origin(masks[:, :, 0] > 0, (crop_h, crop_w), rng)
    image = np.ascontiguousarray(image[top : top + crop_h, left : left + crop_w])
    masks = masks[top : top + crop_h, left : left + crop_w] > 0
    return Augmented(jitter_colours(image, params, rng), masks[:, :, 0], masks[:, :, 1], masks[:, :, 2])
