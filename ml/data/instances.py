"""The record every training reader produces: one image and the masks of its objects."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class InstanceImage:
    """An RGB uint8 H×W×3 ``image`` with ``masks`` (K×H×W bool, one per object) and an ``ignore`` map.

    ``ignore`` (H×W bool) marks pixels that are neither object nor background (crowd regions); the losses
    skip them.
    """

    name: str
    image: np.ndarray
    masks: np.ndarray
    ignore: np.ndarray

    def __post_init__(self) -> None:
        height, width = self.image.shape[:2]
        if self.image.ndim != 3 or self.image.shape[2] != 3 or self.image.dtype != np.uint8:
            raise ValueError(f"{self.name}: image must be RGB uint8 H×W×3, got {self.image.shape} {self.image.dtype}")
        if self.masks.ndim != 3 or self.masks.shape[1:] != (height, width):
            raise ValueError(f"{self.name}: masks {self.masks.shape} do not match image {self.image.shape}")
        if self.ignore.shape != (height, width):
            raise ValueError(f"{self.name}: ignore map {self.ignore.shape} does not match image {self.image.shape}")


@dataclass(frozen=True)
class ObjectRef:
    """One object of one image of a reader: ``(image index, object index)``."""

    image_index: int
    object_index: int


class InstanceReader(Protocol):
    """A sequence of images with instance masks; ``object_areas`` lists the pixel area of every
    object and ``image_name`` names an image; neither decodes pixels where avoidable."""

    name: str

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> InstanceImage: ...

    def object_areas(self, index: int) -> Sequence[float]: ...

    def image_name(self, index: int) -> str: ...


def stack_masks(masks: Sequence[np.ndarray], height: int, width: int) -> np.ndarray:
    """K×H×W bool (0×H×W when there are no masks)."""
    if not masks:
        return np.zeros((0, height, width), dtype=bool)
    return np.stack([m.astype(bool) for m in masks])
