"""Rasterising polygons within their bounding boxes: the same pixels as on the whole image, at a box's cost."""

import tracemalloc

import cv2
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ml.postprocess import polygons_to_mask, raster_box


def whole_image_raster(polygons: list[dict], height: int, width: int) -> np.ndarray:
    """The former rasteriser: each polygon drawn on a full H×W canvas, then united."""

    def points(ring):
        return np.round(np.asarray(ring, dtype=np.float64)).astype(np.int32).reshape(-1, 1, 2)

    mask = np.zeros((height, width), dtype=np.uint8)
    for polygon in polygons:
        region = np.zeros_like(mask)
        cv2.fillPoly(region, [points(polygon["outer"])], 1)
        holes = [points(ring) for ring in polygon.get("holes", []) if len(ring) >= 3]
        if holes:
            cv2.fillPoly(region, holes, 0)
        mask |= region
    return mask.astype(bool)


def random_polygons(rng: np.random.Generator, height: int, width: int) -> list[dict]:
    """Rings of float vertices, some beyond the image, holes anywhere (also outside their outer ring)."""

    def ring():
        margin = rng.integers(0, 30)
        return rng.uniform(-margin, max(height, width) + margin, (rng.integers(3, 9), 2)).tolist()

    return [{"outer": ring(), "holes": [ring() for _ in range(rng.integers(0, 3))]} for _ in range(rng.integers(1, 5))]


def test_box_raster_equals_whole_image_raster_on_random_polygons_with_holes() -> None:
    rng = np.random.default_rng(10)
    for _ in range(2000):
        height, width = (int(v) for v in rng.integers(1, 70, 2))
        polygons = random_polygons(rng, height, width)
        expected = whole_image_raster(polygons, height, width)
        assert np.array_equal(polygons_to_mask(polygons, height, width), expected), (polygons, height, width)


coordinate = st.one_of(st.integers(-40, 120), st.floats(-40.0, 120.0, allow_nan=False))
ring = st.lists(st.tuples(coordinate, coordinate).map(list), min_size=3, max_size=10)
polygon = st.fixed_dictionaries({"outer": ring, "holes": st.lists(ring, max_size=3)})


@settings(max_examples=200, deadline=None, derandomize=True)
@given(polygons=st.lists(polygon, min_size=1, max_size=4), height=st.integers(1, 90), width=st.integers(1, 90))
def test_box_raster_equals_whole_image_raster(polygons: list[dict], height: int, width: int) -> None:
    mask = polygons_to_mask(polygons, height, width)
    assert mask.dtype == bool and mask.shape == (height, width)
    assert np.array_equal(mask, whole_image_raster(polygons, height, width))
    for one in polygons:  # nothing is drawn outside the polygon's raster box
        alone = polygons_to_mask([one], height, width)
        box = raster_box(one, height, width)
        if box is None:
            assert not alone.any()
        else:
            x0, y0, x1, y1 = box
            assert alone.sum() == alone[y0:y1, x0:x1].sum()


def test_small_polygons_on_a_huge_image_cost_their_boxes_not_the_image() -> None:
    """400 triangles on a 12000×12000 image took 13 s here (50 s on a busier machine) drawn on the whole image."""
    rng = np.random.default_rng(0)
    corners = rng.integers(0, 11900, (400, 2)).tolist()
    polygons = [{"outer": [[x, y], [x + 50, y], [x, y + 50]], "holes": []} for x, y in corners]
    tracemalloc.start()  # numpy reports its buffers: drawing on whole-image canvases needs 2-3 images' worth
    try:
        mask = polygons_to_mask(polygons, 12000, 12000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 12000 * 12000 + 400 * 51 * 51 + 2**20, (
        f"{peak / 2**20:.0f} MiB for a {12000 * 12000 / 2**20:.0f} MiB mask"
    )
    assert mask[corners[0][1] + 10, corners[0][0] + 10] and 400 * 1200 < mask.sum() < 400 * 1400
