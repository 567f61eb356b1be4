"""One benchmark sample: an RGB image and the ground truth of a single object."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Sample:
    """An image with one object to segment.

    ``mask`` is the object (bool H×W); ``ignore`` marks pixels that count neither in the IoU nor as click
    candidates (bool H×W), e.g. GrabCut's unknown boundary band.
    """

    name: str
    image: np.ndarray
    mask: np.ndarray
    ignore: np.ndarray

    def __post_init__(self) -> None:
        height, width = self.mask.shape
        if self.image.shape != (height, width, 3) or self.image.dtype != np.uint8:
            raise ValueError(
                f"{self.name}: image {self.image.shape} {self.image.dtype} does not match mask {self.mask.shape}"
            )
        if self.ignore.shape != self.mask.shape:
            raise ValueError(f"{self.name}: ignore map {self.ignore.shape} != mask {self.mask.shape}")
