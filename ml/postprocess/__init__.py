"""Post-processing of predicted masks: threshold, largest component, polygons, COCO RLE, bbox and area.

:func:`mask_to_shape` with :class:`MaskOptions` (``shape.py``) is what every click runs.
"""

from ml.postprocess.masks import largest_component, mask_area, mask_bbox, threshold
from ml.postprocess.polygons import Polygon, mask_to_polygons, polygons_to_mask, raster_box
from ml.postprocess.rle import mask_to_rle, rle_area, rle_bbox, rle_to_mask
from ml.postprocess.shape import THRESHOLD_RANGE, TOLERANCE_RANGE, MaskOptions, mask_to_shape

__all__ = [
    "THRESHOLD_RANGE",
    "TOLERANCE_RANGE",
    "MaskOptions",
    "Polygon",
    "largest_component",
    "mask_area",
    "mask_bbox",
    "mask_to_polygons",
    "mask_to_rle",
    "mask_to_shape",
    "polygons_to_mask",
    "raster_box",
    "rle_area",
    "rle_bbox",
    "rle_to_mask",
    "threshold",
]
