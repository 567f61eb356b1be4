"""RITM/EISeg zoom-in: which part of the image the network sees, and at which input size.

Faithful to RITM's ``ZoomIn`` + ``LimitLongestSide`` transforms (EISeg's copy is identical):

- While there are at most ``skip_clicks`` clicks, or while the previous probability has no pixel above
  ``prob_thresh`` (and ``skip_clicks >= 0``), the network sees the whole image.
  With ``skip_clicks = -1`` (EISeg) the whole image is then treated as the zoom box instead.
- Otherwise the candidate box is the bounding box of (previous probability > ``prob_thresh``) plus every
  positive click, expanded ×``expansion_ratio`` around its centre, each side at least ``min_crop_size``,
  clamped to the image. The kept box is replaced by the candidate only when there is none yet, when a
  positive click lies outside it, or when their IoU is below ``recompute_thresh_iou``.
- The box is cropped and resized bilinearly (``align_corners=True``) to ``target_size``: an int sets the
  longer side and keeps the aspect ratio (RITM evaluation), a ``(h, w)`` tuple is a fixed size (EISeg).
- Whole-image inference resizes only when the longer side exceeds ``max_size`` (RITM ``LimitLongestSide``),
  keeping the aspect ratio; an image that already fits is fed unchanged.

Boxes are ``(rmin, rmax, cmin, cmax)`` with inclusive ends, as in RITM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ml.inference.clicks import Click
from ml.inference.resize import resize_bilinear
from ml.postprocess.masks import mask_bbox

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class ZoomInParams:
    """ZoomIn settings; the defaults are RITM's standard ("cvpr") evaluation with target 400."""

    target_size: int | tuple[int, int] = 400
    skip_clicks: int = 1
    expansion_ratio: float = 1.4
    min_crop_size: int = 200
    recompute_thresh_iou: float = 0.5
    prob_thresh: float = 0.5

    @classmethod
    def ritm(cls, target_size: int = 400) -> ZoomInParams:
        """RITM NoC evaluation: longer side ``target_size`` (600 for DAVIS), first click on the whole image."""
        return cls(target_size=target_size)

    @classmethod
    def eiseg(cls, size: int = 400) -> ZoomInParams:
        """EISeg's UI: every click, the first included, through a fixed ``size``×``size`` crop."""
        return cls(target_size=(size, size), skip_clicks=-1, min_crop_size=480)


def full_box(height: int, width: int) -> Box:
    """The box covering the whole image."""
    return 0, height - 1, 0, width - 1


def mask_box(mask: np.ndarray) -> Box | None:
    """Tight bounding box of the true pixels of ``mask``, or ``None`` if there are none."""
    x, y, width, height = mask_bbox(mask)
    return (y, y + height - 1, x, x + width - 1) if width else None


def expand_box(box: Box, ratio: float, min_size: float | None) -> Box:
    """Scale ``box`` around its centre by ``ratio``; each side at least ``min_size`` (RITM ``expand_bbox``)."""
    rmin, rmax, cmin, cmax = box
    rcenter, ccenter = 0.5 * (rmin + rmax), 0.5 * (cmin + cmax)
    height, width = ratio * (rmax - rmin + 1), ratio * (cmax - cmin + 1)
    if min_size is not None:
        height, width = max(height, min_size), max(width, min_size)
    return (
        int(round(rcenter - 0.5 * height)),
        int(round(rcenter + 0.5 * height)),
        int(round(ccenter - 0.5 * width)),
        int(round(ccenter + 0.5 * width)),
    )


def clamp_box(box: Box, height: int, width: int) -> Box:
    """Clip ``box`` to the image."""
    return max(0, box[0]), min(height - 1, box[1]), max(0, box[2]), min(width - 1, box[3])


def _segment_iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    intersection = max(0, min(a[1], b[1]) - max(a[0], b[0]) + 1)
    union = max(1e-6, max(a[1], b[1]) - min(a[0], b[0]) + 1)
    return intersection / union


def box_iou(a: Box, b: Box) -> float:
    """RITM's box IoU: the product of the row and column segment IoUs."""
    return _segment_iou(a[:2], b[:2]) * _segment_iou(a[2:], b[2:])


def object_roi(mask: np.ndarray, clicks: Sequence[Click], params: ZoomInParams) -> Box | None:
    """Expanded, clamped box around ``mask`` plus the positive clicks (``None`` if the mask is empty)."""
    box = mask_box(mask)
    return None if box is None else roi_around(box, clicks, params, mask.shape)


def roi_around(box: Box, clicks: Sequence[Click], params: ZoomInParams, shape: tuple[int, int]) -> Box:
    """``box`` grown to hold the positive clicks, expanded and clamped to an image of ``shape`` (H, W)."""
    rmin, rmax, cmin, cmax = box
    for click in clicks:
        if click.positive:
            row, col = int(click.y), int(click.x)
            rmin, rmax, cmin, cmax = min(rmin, row), max(rmax, row), min(cmin, col), max(cmax, col)
    expanded = expand_box((rmin, rmax, cmin, cmax), params.expansion_ratio, params.min_crop_size)
    return clamp_box(expanded, *shape)


def clicks_inside(box: Box, clicks: Sequence[Click]) -> bool:
    """RITM ``check_object_roi``: every positive click within ``[min, max)`` of the box on both axes."""
    rmin, rmax, cmin, cmax = box
    return all(rmin <= c.y < rmax and cmin <= c.x < cmax for c in clicks if c.positive)


def limit_longest_side(height: int, width: int, max_size: int | None) -> tuple[int, int]:
    """Shrink (never enlarge) so that the longer side is at most ``max_size``, keeping the aspect ratio."""
    if max_size is None or max(height, width) <= max_size:
        return height, width
    return _scaled(height, width, max_size)


def _scaled(height: int, width: int, longest: int) -> tuple[int, int]:
    scale = longest / max(height, width)
    return max(1, int(round(height * scale))), max(1, int(round(width * scale)))


@dataclass(frozen=True)
class View:
    """The image region ``box`` the network sees, resized to the network input ``size`` (h, w)."""

    box: Box
    size: tuple[int, int]

    @property
    def box_shape(self) -> tuple[int, int]:
        return self.box[1] - self.box[0] + 1, self.box[3] - self.box[2] + 1

    def to_network(self, click: Click) -> Click:
        """Click coordinates in the network input frame (RITM ``_transform_clicks``)."""
        rmin, _, cmin, _ = self.box
        box_h, box_w = self.box_shape
        return click.moved(x=self.size[1] * (click.x - cmin) / box_w, y=self.size[0] * (click.y - rmin) / box_h)

    def crop(self, array: np.ndarray) -> np.ndarray:
        """Crop an H×W[×C] full-image array to the box and resize it to the input size (float32)."""
        rmin, rmax, cmin, cmax = self.box
        return resize_bilinear(array[rmin : rmax + 1, cmin : cmax + 1], *self.size)

    def paste(self, values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """Resize a network-frame H×W map back to the box and paste it into a zero full-image canvas."""
        rmin, rmax, cmin, cmax = self.box
        resized = resize_bilinear(values, *self.box_shape)
        if self.box == full_box(*shape):
            return np.ascontiguousarray(resized)
        canvas = np.zeros(shape, dtype=np.float32)
        canvas[rmin : rmax + 1, cmin : cmax + 1] = resized
        return canvas


def full_view(height: int, width: int, max_size: int | None) -> View:
    """Whole-image inference, shrunk to ``max_size`` when larger."""
    return View(full_box(height, width), limit_longest_side(height, width, max_size))


def crop_view(box: Box, target_size: int | tuple[int, int], max_size: int | None) -> View:
    """Zoom-in inference on ``box`` at ``target_size`` (then limited to ``max_size`` like RITM's chain)."""
    box_h, box_w = box[1] - box[0] + 1, box[3] - box[2] + 1
    size = tuple(target_size) if isinstance(target_size, tuple) else _scaled(box_h, box_w, target_size)
    return View(box, limit_longest_side(size[0], size[1], max_size))


def select_roi(
    prob: np.ndarray, clicks: Sequence[Click], roi: Box | None, params: ZoomInParams
) -> tuple[Box | None, bool]:
    """The zoom box to keep after this click and whether to use it now (``False``: whole image).

    ``prob`` is the previous full-resolution probability (zeros before the first click), ``roi`` the kept box.
    When the whole image is used, the kept box is left as it was (as RITM does); unlike RITM, the caller
    then maps the prediction back from the whole image, not from the kept box.
    """
    if len(clicks) <= params.skip_clicks:
        return roi, False
    candidate = object_roi(prob > params.prob_thresh, clicks, params)
    if candidate is None:
        if params.skip_clicks >= 0:
            return roi, False
        candidate = full_box(*prob.shape)
    if roi is None or not clicks_inside(roi, clicks) or box_iou(candidate, roi) < params.recompute_thresh_iou:
        roi = candidate
    return roi, True


def needs_recalculation(prob: np.ndarray, roi: Box | None, params: ZoomInParams) -> bool:
    """RITM ``check_possible_recalculation``: a whole-image result whose object box is small → zoom now."""
    if roi is not None or params.skip_clicks > 0:
        return False
    candidate = object_roi(prob > params.prob_thresh, [], params)
    return candidate is not None and box_iou(candidate, full_box(*prob.shape)) < 0.5
