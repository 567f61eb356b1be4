"""Binary-mask basics: threshold, largest connected component, bounding box and area."""

from __future__ import annotations

import cv2
import numpy as np


def threshold(probability: np.ndarray, thresh: float = 0.5) -> np.ndarray:
    """Boolean mask of ``probability > thresh`` (EISeg's default threshold is 0.5, RITM's NoC uses 0.49)."""
    return np.asarray(probability) > thresh


def largest_component(mask: np.ndarray, connectivity: int = 8) -> np.ndarray:
    """Keep only the largest connected component (8-connected by default, like EISeg's ``getLargestCC``)."""
    mask = np.asarray(mask, dtype=bool)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=connectivity)
    if count <= 1:
        return mask.copy()
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return labels == largest


def mask_area(mask: np.ndarray) -> int:
    """Number of foreground pixels."""
    return int(np.count_nonzero(mask))


def mask_bbox(mask: np.ndarray) -> list[int]:
    """COCO ``[x, y, width, height]`` of the foreground (``[0, 0, 0, 0]`` when empty)."""
    mask = np.asarray(mask, dtype=bool)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return [0, 0, 0, 0]
    return [int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)]
