"""RITM's click simulator: the next click goes to the deepest point of the larger error region.

Clicks are :class:`ml.inference.clicks.Click` (``x`` column, ``y`` row), with integer pixel indices here.
"""

from __future__ import annotations

import cv2
import numpy as np

from ml.inference.clicks import Click


def padded_distance(region: np.ndarray) -> np.ndarray:
    """Exact L2 distance to the nearest pixel outside ``region``, the image border counting as outside."""
    padded = np.pad(region, 1).astype(np.uint8)
    return cv2.distanceTransform(padded, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]


def deepest_error_click(false_neg: np.ndarray, false_pos: np.ndarray, not_clicked: np.ndarray) -> Click | None:
    """RITM ``Clicker._get_next_click``; ``None`` when no unclicked error pixel is left.

    The click is positive when the deepest false-negative pixel is strictly deeper than the deepest
    false-positive one; its location is the first such pixel in row-major order.
    """
    fn_depth = padded_distance(false_neg) * not_clicked
    fp_depth = padded_distance(false_pos) * not_clicked
    fn_max, fp_max = float(fn_depth.max()), float(fp_depth.max())
    if fn_max == 0.0 and fp_max == 0.0:
        return None
    positive = fn_max > fp_max
    depth = fn_depth if positive else fp_depth
    flat = int(np.argmax(depth))
    y, x = divmod(flat, depth.shape[1])
    return Click(x=x, y=y, positive=positive)


class Clicker:
    """Places clicks for one sample against its ground truth; ignored pixels are never clicked."""

    def __init__(self, mask: np.ndarray, ignore: np.ndarray | None = None) -> None:
        self.mask = mask.astype(bool)
        self.valid = np.ones_like(self.mask) if ignore is None else ~ignore.astype(bool)
        self.not_clicked = np.ones(self.mask.shape, dtype=np.float32)
        self.clicks: list[Click] = []

    def next_click(self, pred: np.ndarray) -> Click | None:
        """Choose, record and return the next click for the thresholded prediction ``pred``."""
        false_neg = self.mask & ~pred & self.valid
        false_pos = ~self.mask & pred & self.valid
        click = deepest_error_click(false_neg, false_pos, self.not_clicked)
        if click is not None:
            self.not_clicked[int(click.y), int(click.x)] = 0.0
            self.clicks.append(click)
        return click
