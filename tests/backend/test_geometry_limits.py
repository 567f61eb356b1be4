"""Polygons an object may have: caps on polygons, vertices and raster area, and shapes that match their polygons."""

import math

import cv2
import numpy as np
import pytest
from django.conf import settings as django_settings
from hypothesis import event, given, settings
from hypothesis import strategies as st

from backend.annotations.geometry import check_polygons, shape_from_polygons
from backend.annotations.models import AnnotationObject
from backend.common.errors import InvalidInput
from ml.postprocess import mask_to_polygons, polygons_to_mask, rle_to_mask
from tests.conftest import World
from tests.ml.test_polygons_raster import whole_image_raster


def triangle(x: int, y: int) -> dict:
    return {"outer": [[x, y], [x + 3, y], [x, y + 3]], "holes": []}


def post(world: World, polygons):
    url = f"/api/images/{world.batched_image.pk}/objects/"
    return world.client("annotator").post(url, {"label": world.label.pk, "polygons": polygons}, format="json")


def refused(response, code: str, limit: int) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == code and str(limit) in body["detail"] and body["details"]["limit"] == limit, body


def test_more_polygons_than_the_cap_are_refused_on_create_and_update(world: World) -> None:
    limit = django_settings.MAX_POLYGONS_PER_OBJECT
    polygons = [triangle(i % 60, (i // 60) % 44) for i in range(limit + 1)]
    before = AnnotationObject.objects.count()
    refused(post(world, polygons), "too_many_polygons", limit)
    assert AnnotationObject.objects.count() == before
    patch = {"version": 1, "polygons": polygons}
    updated = world.client("annotator").patch(f"/api/objects/{world.obj.pk}/", patch, format="json")
    refused(updated, "too_many_polygons", limit)
    assert post(world, polygons[:limit]).status_code == 201


def test_more_vertices_than_the_cap_are_refused_holes_included(world: World) -> None:
    limit = django_settings.MAX_VERTICES_PER_OBJECT
    square = [[1, 1], [60, 1], [60, 45], [1, 45]]
    hole = [[10 + (i % 30), 10 + (i // 30) % 2] for i in range(limit - len(square) + 1)]
    refused(post(world, [{"outer": square, "holes": [hole]}]), "too_many_vertices", limit)


def test_vertices_are_counted_before_any_is_looked_at(world: World) -> None:
    """A body of junk points is refused by its size, not after checking each point."""
    limit = django_settings.MAX_VERTICES_PER_OBJECT
    refused(post(world, [{"outer": ["x"] * (limit + 1), "holes": []}]), "too_many_vertices", limit)


def test_polygons_whose_boxes_cover_the_image_too_often_are_refused(world: World) -> None:
    limit = django_settings.MAX_POLYGON_BOX_COVERAGE
    whole = {"outer": [[0, 0], [63, 0], [63, 47], [0, 47]], "holes": []}
    refused(post(world, [whole] * (limit + 1)), "too_much_coverage", limit)
    assert post(world, [whole] * limit).status_code == 201


def test_a_large_model_mask_stays_within_the_caps() -> None:
    """A mask like the model's (its logits upscaled bilinearly) on a 12000×12000 image, at tolerance 1 and 0."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:200, 0:200]
    noise = cv2.GaussianBlur(rng.normal(0, 3, (200, 200)), (0, 0), 2)
    logits = (1.0 - np.hypot(rows - 100, cols - 100) / 70) * 6 + noise  # a disc with a ragged border
    mask = cv2.resize(logits.astype(np.float32), (12000, 12000), interpolation=cv2.INTER_LINEAR) > 0
    for tolerance in (1.0, 0.0):
        polygons = mask_to_polygons(mask, tolerance)
        checked = check_polygons(polygons, 12000, 12000)
        assert len(checked) == len(polygons) > 1


def reference_or_none(polygons, height: int, width: int) -> np.ndarray | None:
    try:
        return whole_image_raster(polygons, height, width)
    except (TypeError, ValueError, KeyError, AttributeError, cv2.error, OverflowError):
        return None


junk = st.one_of(st.none(), st.booleans(), st.text(max_size=3), st.dictionaries(st.text(max_size=2), st.none()))
number = st.one_of(
    st.integers(-50, 120),
    st.floats(-50.0, 120.0),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
)
point = st.one_of(st.tuples(number, number).map(list), st.lists(number, max_size=3), junk)
pair = st.tuples(number, number).map(list)
ring = st.one_of(st.lists(point, max_size=8), st.lists(pair, min_size=3, max_size=8), junk)
polygon = st.one_of(
    st.fixed_dictionaries({"outer": ring, "holes": st.one_of(st.lists(ring, max_size=3), junk)}),
    st.fixed_dictionaries({"outer": ring}),
    junk,
)


def plausible(height: int, width: int, margin: int = 0) -> st.SearchStrategy:
    """Rings within the image or ``margin`` beyond it (shapes, some degenerate); other strategies cover the rest."""
    x = st.one_of(st.integers(-margin, width + margin), st.floats(-margin, width + margin))
    y = st.one_of(st.integers(-margin, height + margin), st.floats(-margin, height + margin))
    ring = st.lists(st.tuples(x, y).map(list), min_size=3, max_size=8)
    polygon = st.fixed_dictionaries({"outer": ring, "holes": st.lists(ring, max_size=2)})
    return st.lists(polygon, min_size=1, max_size=4)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(data=st.data(), height=st.integers(1, 60), width=st.integers(1, 60))
def test_any_polygons_give_a_matching_shape_or_invalid_input(data, height: int, width: int) -> None:
    polygons = data.draw(
        st.one_of(plausible(height, width), plausible(height, width, margin=2), st.lists(polygon, max_size=4), junk)
    )
    try:
        shape = shape_from_polygons(polygons, width, height)
    except InvalidInput as exc:
        event(f"refused: {exc.code}")
        return
    event("shape")
    mask = rle_to_mask(shape.mask_rle)
    assert mask.shape == (height, width)
    assert np.array_equal(mask, polygons_to_mask(shape.polygons, height, width))
    assert np.array_equal(mask, reference_or_none(polygons, height, width))  # the client's own polygons, as drawn
    assert shape.area == mask.sum() > 0
    assert all(math.isfinite(v) for p in shape.polygons for r in [p["outer"], *p["holes"]] for xy in r for v in xy)
    x, y, w, h = (int(v) for v in shape.bbox)
    assert mask[y : y + h, x : x + w].sum() == shape.area


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e300, -1, 2**64, "7", True, None])
def test_a_bad_coordinate_is_invalid_input(value) -> None:
    with pytest.raises(InvalidInput):
        shape_from_polygons([{"outer": [[1, 1], [value, 5], [9, 1]], "holes": []}], 20, 20)
