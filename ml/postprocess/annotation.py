"""From a probability map to everything an annotation stores: polygons, RLE, bbox and area."""

from __future__ import annotations

from typing import Any

import numpy as np

from ml.postprocess.masks import largest_component, mask_area, mask_bbox, threshold
from ml.postprocess.polygons import mask_to_polygons
from ml.postprocess.rle import mask_to_rle


def finish_object(
    probability: np.ndarray, thresh: float = 0.5, largest_only: bool = False, tolerance: float = 1.0
) -> dict[str, Any]:
    """Threshold (and optionally keep the largest component); return JSON-ready ``polygons``/``rle``/``bbox``/``area``."""
    mask = threshold(probability, thresh)
    if largest_only:
        mask = largest_component(mask)
    return {
        "polygons": mask_to_polygons(mask, tolerance),
        "rle": mask_to_rle(mask),
        "bbox": mask_bbox(mask),
        "area": mask_area(mask),
    }
