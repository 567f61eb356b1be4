"""A gigapixel image's object: its mask's RLE made from the polygons' box alone equals the whole-mask one."""

import numpy as np
import pytest

from backend.annotations import geometry
from ml.postprocess import mask_to_rle, polygons_to_mask
from ml.postprocess.polygons import polygons_to_box_mask
from ml.postprocess.rle import box_mask_to_rle, rle_to_mask


def test_box_rle_equals_the_whole_mask_rle_on_random_boxes() -> None:
    rng = np.random.default_rng(7)
    for _ in range(3000):
        height, width = (int(v) for v in rng.integers(1, 40, 2))
        h, w = int(rng.integers(1, height + 1)), int(rng.integers(1, width + 1))
        y, x = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
        local = rng.random((h, w)) < rng.random() ** 3 * 2  # empty, sparse, dense and full boxes
        full = np.zeros((height, width), bool)
        full[y : y + h, x : x + w] = local
        assert box_mask_to_rle(local, x, y, height, width) == mask_to_rle(full)
    with pytest.raises(ValueError, match="outside"):
        box_mask_to_rle(np.ones((3, 3), bool), 8, 0, 10, 10)


def test_box_raster_equals_the_whole_image_raster() -> None:
    rng = np.random.default_rng(3)
    for _ in range(300):
        height, width = (int(v) for v in rng.integers(5, 80, 2))
        polygons = []
        for _ in range(int(rng.integers(1, 4))):
            cx, cy = rng.uniform(-10, width + 10), rng.uniform(-10, height + 10)
            angles = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(3, 9))))
            radius = rng.uniform(1, 30)
            outer = [[cx + radius * np.cos(a), cy + radius * np.sin(a)] for a in angles]
            hole = [[cx + radius / 3 * np.cos(a), cy + radius / 3 * np.sin(a)] for a in angles[::-1]]
            polygons.append({"outer": outer, "holes": [hole] if rng.random() < 0.5 else []})
        local, left, top = polygons_to_box_mask(polygons, height, width)
        full = np.zeros((height, width), bool)
        full[top : top + local.shape[0], left : left + local.shape[1]] = local
        assert np.array_equal(full, polygons_to_mask(polygons, height, width))


def test_an_object_on_a_60k_image_is_shaped_in_its_box(monkeypatch) -> None:
    polygons = [{"outer": [[50000, 40000], [50300, 40000], [50150, 40200]], "holes": []}]
    shape = geometry.shape_from_polygons(polygons, 60_000, 60_000)  # a whole mask would be 3.6 GB
    assert shape.mask_rle["size"] == [60_000, 60_000]
    assert shape.bbox[:2] == [50000.0, 40000.0] and 29_000 < shape.area < 32_000
    # the same as the whole-mask path, on an image small enough for both
    small = [{"outer": [[700, 400], [730, 400], [715, 420]], "holes": []}]
    monkeypatch.setattr(geometry, "LOCAL_RASTER_MIN_PIXELS", 0)
    boxed = geometry.shape_from_polygons(small, 1000, 900)
    monkeypatch.setattr(geometry, "LOCAL_RASTER_MIN_PIXELS", 10**12)
    whole = geometry.shape_from_polygons(small, 1000, 900)
    assert boxed == whole
    assert rle_to_mask(boxed.mask_rle).sum() == boxed.area


def test_a_stored_crop_decodes_the_objects_box_alone() -> None:
    """Exports and saves read an object's mask within its box (backend.exports.stored_crops): the same pixels as
    the whole mask's, with runs within one column (most objects) or across columns."""
    from backend.exports.stored_crops import cropped, stored_crop

    rng = np.random.default_rng(11)
    for _ in range(3000):
        height, width = (int(v) for v in rng.integers(1, 30, 2))
        full = np.zeros((height, width), bool)
        h, w = int(rng.integers(1, height + 1)), int(rng.integers(1, width + 1))
        y, x = int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1))
        full[y : y + h, x : x + w] = rng.random((h, w)) < rng.random() ** 2 * 1.5
        crop, left, top = stored_crop(mask_to_rle(full))
        expected, ex, ey = cropped(full)
        if expected.size == 0:
            assert crop.size == 0
            continue
        assert (left, top) == (ex, ey) and np.array_equal(crop, expected)
