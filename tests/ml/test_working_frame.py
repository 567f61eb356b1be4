"""The working size of a huge image and the mapping of clicks and shapes between it and the image."""

import math

import cv2
import numpy as np
import pytest

from ml.inference.clicks import Click
from ml.inference.working import WorkingFrame
from ml.postprocess import MaskOptions, mask_to_shape, polygons_to_mask


def test_images_at_or_below_the_limit_are_used_as_they_are() -> None:
    frame = WorkingFrame.fit(4096, 4096, 4096 * 4096)
    assert not frame.scaled and frame.work_shape == (4096, 4096)
    click = Click(10.5, 20.0, True)
    assert frame.click_to_working(click) is click
    shape = {"polygons": [{"outer": [[0, 0], [5, 0], [5, 5]], "holes": []}], "bbox": [0, 0, 6, 6], "area": 21}
    assert frame.shape_to_image(shape) is shape


@pytest.mark.parametrize(
    ("width", "height", "limit"),
    [(12000, 12000, 4096 * 4096), (1000, 800, 200_000), (4001, 3001, 1_000_000), (100_000, 3, 1000), (3, 7, 1)],
)
def test_larger_images_shrink_to_at_most_the_limit_keeping_the_aspect(width: int, height: int, limit: int) -> None:
    frame = WorkingFrame.fit(width, height, limit)
    assert frame.scaled and 1 <= frame.work_width <= width and 1 <= frame.work_height <= height
    assert frame.work_width * frame.work_height <= limit
    if min(width, height) * math.sqrt(limit / (width * height)) >= 2:  # not a one-pixel-thin extreme
        assert frame.work_width * frame.work_height > 0.99 * limit - (frame.work_width + frame.work_height)
        assert abs(frame.work_width / frame.work_height - width / height) < 2 / min(frame.work_shape)


def test_fit_refuses_empty_sizes() -> None:
    with pytest.raises(ValueError):
        WorkingFrame.fit(0, 10, 100)


def test_clicks_map_through_pixel_centres_and_stay_inside() -> None:
    frame = WorkingFrame.fit(1000, 800, 200_000)  # 500×400: each working pixel is 2×2 image pixels
    assert frame.work_shape == (400, 500)
    # Image pixels 2 and 3 are halves of working pixel 1, whose centre (x = 1) is at image position 2.5.
    assert frame.click_to_working(Click(2.5, 2.5, True)) == Click(1.0, 1.0, True)
    assert frame.click_to_working(Click(3, 2, False)) == Click(1.25, 0.75, False)
    # The image's corner pixels map into the working copy's corner pixels, never outside.
    assert frame.click_to_working(Click(0, 0, True)) == Click(0.0, 0.0, True)
    corner = frame.click_to_working(Click(999, 799, True))
    assert 499 <= corner.x <= 499.25 and 399 <= corner.y <= 399.25


def test_shapes_map_back_to_image_pixels_and_cover_the_object() -> None:
    width, height = 1000, 800
    truth = np.zeros((height, width), np.uint8)
    cv2.ellipse(truth, (430, 370), (260, 180), 20, 0, 360, 1, thickness=-1)
    cv2.circle(truth, (430, 370), 60, 0, thickness=-1)  # a hole
    truth = truth.astype(bool)
    frame = WorkingFrame.fit(width, height, 200_000)
    working = cv2.resize(truth.astype(np.float32), (frame.work_width, frame.work_height), interpolation=cv2.INTER_AREA)

    shape = frame.shape_to_image(mask_to_shape(working, MaskOptions(tolerance=0.0)))

    vertices = np.array([v for p in shape["polygons"] for ring in [p["outer"], *p["holes"]] for v in ring])
    assert vertices.min() >= 0 and vertices[:, 0].max() < width and vertices[:, 1].max() < height
    assert len(shape["polygons"]) == 1 and len(shape["polygons"][0]["holes"]) == 1
    drawn = polygons_to_mask(shape["polygons"], height, width)
    assert (drawn & truth).sum() / (drawn | truth).sum() > 0.98
    x, y, w, h = shape["bbox"]
    ys, xs = np.nonzero(truth)
    assert abs(x - xs.min()) <= 2 and abs(y - ys.min()) <= 2
    assert abs(x + w - 1 - xs.max()) <= 2 and abs(y + h - 1 - ys.max()) <= 2
    assert abs(shape["area"] - truth.sum()) < 0.01 * truth.sum()
    assert shape["rle"]["size"] == [400, 500]  # the mask itself stays at the working size


def test_an_empty_shape_stays_empty() -> None:
    frame = WorkingFrame.fit(1000, 800, 200_000)
    empty = frame.shape_to_image(mask_to_shape(np.zeros(frame.work_shape, np.float32), MaskOptions()))
    assert empty["polygons"] == [] and empty["bbox"] == [0, 0, 0, 0] and empty["area"] == 0
