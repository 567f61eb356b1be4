"""Post-processing: threshold, largest component, polygons with holes, COCO RLE, bbox and area."""

from __future__ import annotations

import dataclasses
import json

import cv2
import numpy as np
import pytest

from ml.evaluation.metrics import iou
from ml.postprocess import (
    THRESHOLD_RANGE,
    TOLERANCE_RANGE,
    MaskOptions,
    largest_component,
    mask_area,
    mask_bbox,
    mask_to_polygons,
    mask_to_rle,
    mask_to_shape,
    polygons_to_mask,
    rle_area,
    rle_bbox,
    rle_to_mask,
    threshold,
)


def blobs(seed: int, height: int = 240, width: int = 320) -> np.ndarray:
    """Random ellipses with a few circular holes punched in: several components, some with holes."""
    rng = np.random.default_rng(seed)
    mask = np.zeros((height, width), np.uint8)
    for _ in range(5):
        center = (int(rng.integers(40, width - 40)), int(rng.integers(40, height - 40)))
        axes = (int(rng.integers(15, 70)), int(rng.integers(15, 60)))
        cv2.ellipse(mask, center, axes, float(rng.integers(0, 180)), 0, 360, 1, -1)
    for _ in range(4):
        center = (int(rng.integers(40, width - 40)), int(rng.integers(40, height - 40)))
        cv2.circle(mask, center, int(rng.integers(4, 14)), 0, -1)
    return mask.astype(bool)


def ring_with_island() -> np.ndarray:
    """A square with a square hole containing a square island."""
    mask = np.zeros((60, 60), bool)
    mask[5:55, 5:55] = True
    mask[15:45, 15:45] = False
    mask[25:35, 25:35] = True
    return mask


def test_threshold_is_strict() -> None:
    prob = np.array([[0.2, 0.5, 0.51]], np.float32)
    np.testing.assert_array_equal(threshold(prob), [[False, False, True]])
    np.testing.assert_array_equal(threshold(prob, 0.49), [[False, True, True]])


def test_largest_component_is_eight_connected() -> None:
    mask = np.zeros((20, 20), bool)
    mask[1:4, 1:4] = True  # 9 pixels
    mask[10, 10] = mask[11, 11] = mask[12, 12] = mask[13, 13] = True  # diagonal chain
    mask[10, 11] = mask[12, 13] = mask[14, 14] = mask[15, 15] = mask[16, 16] = mask[17, 17] = True  # 10 pixels
    kept = largest_component(mask)
    assert kept.sum() == 10 and not kept[1:4, 1:4].any()
    assert largest_component(mask, connectivity=4).sum() == 9


def test_largest_component_of_empty_mask_is_empty() -> None:
    assert not largest_component(np.zeros((5, 7), bool)).any()


def test_bbox_and_area() -> None:
    mask = np.zeros((10, 12), bool)
    mask[2:5, 3:9] = True
    mask[7, 10] = True
    assert mask_area(mask) == 19
    assert mask_bbox(mask) == [3, 2, 8, 6]
    assert mask_bbox(np.zeros((4, 4), bool)) == [0, 0, 0, 0]
    assert mask_area(np.zeros((4, 4), bool)) == 0


def test_empty_mask_has_no_polygons() -> None:
    assert mask_to_polygons(np.zeros((30, 40), bool)) == []
    assert mask_to_polygons(np.zeros((30, 40), bool), tolerance=0) == []
    assert not polygons_to_mask([], 30, 40).any()


def smooth(mask: np.ndarray) -> np.ndarray:
    """Open then close with a 3×3 cross: no one-pixel-wide features left in the object or the holes."""
    kernel = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    opened = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    return cv2.morphologyEx(opened, cv2.MORPH_CLOSE, kernel).astype(bool)


@pytest.mark.parametrize("seed", range(4))
def test_polygon_round_trip_without_simplification(seed: int) -> None:
    mask = blobs(seed)
    raster = polygons_to_mask(mask_to_polygons(mask, tolerance=0), *mask.shape)
    assert iou(raster, mask) >= 0.999  # only degenerate one-pixel specks/pinholes can differ
    smoothed = smooth(mask)
    exact = polygons_to_mask(mask_to_polygons(smoothed, tolerance=0), *mask.shape)
    np.testing.assert_array_equal(exact, smoothed)


@pytest.mark.parametrize("seed", range(4))
def test_polygon_round_trip_iou_with_simplification(seed: int) -> None:
    mask = blobs(seed)
    simplified = mask_to_polygons(mask, tolerance=1.0)
    full = mask_to_polygons(mask, tolerance=0)
    assert iou(polygons_to_mask(simplified, *mask.shape), mask) >= 0.97
    assert sum(len(p["outer"]) for p in simplified) < sum(len(p["outer"]) for p in full)


def test_holes_are_inner_rings_and_islands_are_polygons() -> None:
    mask = ring_with_island()
    polygons = mask_to_polygons(mask, tolerance=1.0)
    assert len(polygons) == 2
    ring = max(polygons, key=lambda p: len(p["holes"]))
    island = min(polygons, key=lambda p: len(p["holes"]))
    assert len(ring["holes"]) == 1 and island["holes"] == []
    assert sorted(ring["outer"]) == [[5, 5], [5, 54], [54, 5], [54, 54]]
    assert sorted(island["outer"]) == [[25, 25], [25, 34], [34, 25], [34, 34]]
    raster = polygons_to_mask(polygons, 60, 60)
    np.testing.assert_array_equal(raster, mask)
    assert not raster[20, 20] and raster[30, 30] and raster[10, 10]


def test_polygons_are_json_ready() -> None:
    polygons = mask_to_polygons(blobs(1), tolerance=1.5)
    decoded = json.loads(json.dumps(polygons))
    assert decoded == polygons
    for polygon in polygons:
        assert set(polygon) == {"outer", "holes"}
        assert len(polygon["outer"]) >= 3
        assert all(isinstance(v, int) for point in polygon["outer"] for v in point)


def test_specks_without_area_are_dropped() -> None:
    mask = np.zeros((20, 20), bool)
    mask[3, 3] = True
    mask[10, 2:15] = True
    assert mask_to_polygons(mask) == []


def test_polygons_to_mask_accepts_float_vertices_and_clips() -> None:
    polygons = [{"outer": [[-5.2, -5.0], [9.6, -5.0], [9.6, 4.4], [-5.2, 4.4]], "holes": []}]
    raster = polygons_to_mask(polygons, 8, 8)
    assert raster[:5, :].all() and not raster[5:, :].any()


@pytest.mark.parametrize("seed", range(3))
def test_rle_round_trip(seed: int) -> None:
    mask = blobs(seed, 97, 131)
    rle = mask_to_rle(mask)
    assert isinstance(rle["counts"], str) and rle["size"] == [97, 131]
    assert json.loads(json.dumps(rle)) == rle
    np.testing.assert_array_equal(rle_to_mask(rle), mask)
    assert rle_area(rle) == mask_area(mask)
    assert rle_bbox(rle) == mask_bbox(mask)


def test_rle_accepts_bytes_and_uncompressed_counts() -> None:
    mask = ring_with_island()
    rle = mask_to_rle(mask)
    np.testing.assert_array_equal(rle_to_mask({"size": rle["size"], "counts": rle["counts"].encode()}), mask)
    column_major = mask.flatten(order="F").astype(np.uint8)
    changes = np.flatnonzero(np.diff(np.concatenate([[0], column_major, [2]])))  # run boundaries
    counts = np.diff(np.concatenate([[0], changes])).tolist()
    counts[-1] = len(column_major) - sum(counts[:-1])
    np.testing.assert_array_equal(rle_to_mask({"size": [60, 60], "counts": counts}), mask)


def test_empty_mask_rle() -> None:
    rle = mask_to_rle(np.zeros((5, 6), bool))
    assert rle_area(rle) == 0
    assert not rle_to_mask(rle).any()


def test_mask_options_are_the_one_set_of_defaults() -> None:
    assert MaskOptions() == MaskOptions(threshold=0.5, largest_component=True, tolerance=1.0)
    assert THRESHOLD_RANGE == (0.01, 0.99) and TOLERANCE_RANGE == (0.0, 50.0)
    assert THRESHOLD_RANGE[0] <= MaskOptions().threshold <= THRESHOLD_RANGE[1]
    assert TOLERANCE_RANGE[0] <= MaskOptions().tolerance <= TOLERANCE_RANGE[1]
    with pytest.raises(dataclasses.FrozenInstanceError):
        MaskOptions().threshold = 0.3  # type: ignore[misc]


def test_mask_to_shape() -> None:
    prob = np.zeros((60, 60), np.float32)
    prob[ring_with_island()] = 0.9
    prob[0, 0] = 0.7
    result = mask_to_shape(prob, MaskOptions())
    json.dumps(result)
    assert result["area"] == (50 * 50 - 30 * 30)
    assert result["bbox"] == [5, 5, 50, 50]
    assert len(result["polygons"]) == 1 and len(result["polygons"][0]["holes"]) == 1
    assert rle_area(result["rle"]) == result["area"]
    assert mask_to_shape(np.zeros((4, 4), np.float32), MaskOptions())["polygons"] == []
    every = mask_to_shape(prob, MaskOptions(largest_component=False))
    assert every["area"] == result["area"] + 10 * 10 + 1  # the island and the speck
    assert len(every["polygons"]) == 2  # ring and island; a speck has no polygon
    assert mask_to_shape(prob, MaskOptions(threshold=0.95))["area"] == 0
