"""From a probability map to the shape an annotation stores, and the one definition of the mask options.

:class:`MaskOptions` holds the defaults every layer uses (the socket announces them in ``ready``, the client
initialises its controls from them); the ranges the protocol accepts live beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ml.postprocess.masks import largest_component, mask_area, mask_bbox, threshold
from ml.postprocess.polygons import mask_to_polygons
from ml.postprocess.rle import mask_to_rle

THRESHOLD_RANGE = (0.01, 0.99)
TOLERANCE_RANGE = (0.0, 50.0)


@dataclass(frozen=True)
class MaskOptions:
    """How a probability becomes a shape: foreground where it exceeds ``threshold``, optionally only the
    largest 8-connected component, polygon rings simplified within ``tolerance`` pixels."""

    threshold: float = 0.5
    largest_component: bool = True
    tolerance: float = 1.0


def mask_to_shape(probability: np.ndarray, options: MaskOptions) -> dict[str, Any]:
    """JSON-ready ``polygons``, ``rle``, ``bbox`` and ``area`` of ``probability`` under ``options``."""
    mask = threshold(probability, options.threshold)
    if options.largest_component:
        mask = largest_component(mask)
    return {
        "polygons": mask_to_polygons(mask, options.tolerance),
        "rle": mask_to_rle(mask),
        "bbox": mask_bbox(mask),
        "area": mask_area(mask),
    }
