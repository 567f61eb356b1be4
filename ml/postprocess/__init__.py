"""Post-processing of predicted masks: threshold, largest component, polygons, COCO RLE, bbox and area."""

from ml.postprocess.annotation import finish_object
from ml.postprocess.masks import largest_component, mask_area, mask_bbox, threshold
from ml.postprocess.polygons import Polygon, mask_to_polygons, polygons_to_mask, raster_box
from ml.postprocess.rle import mask_to_rle, rle_area, rle_bbox, rle_to_mask

__all__ = [
    "Polygon",
    "finish_object",
    "largest_component",
    "mask_area",
    "mask_bbox",
    "mask_to_polygons",
    "mask_to_rle",
    "polygons_to_mask",
    "raster_box",
    "rle_area",
    "rle_bbox",
    "rle_to_mask",
    "threshold",
]
