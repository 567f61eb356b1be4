"""Reading a Deep Zoom pyramid (what the upload path writes): level sizes, stitched regions, zoom-in views."""

import numpy as np
import pytest

from ml.inference.pyramid import Pyramid, is_pyramid
from ml.inference.zoom_in import View

WIDTH, HEIGHT = 1000, 700


@pytest.fixture(scope="module")
def smooth() -> np.ndarray:
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    r = 128 + 100 * np.sin(xs / 37.0) * np.cos(ys / 23.0)
    g = 40 + 200 * xs / WIDTH
    b = 30 + 200 * ys / HEIGHT
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


@pytest.fixture(scope="module")
def pyramid(tmp_path_factory, smooth) -> Pyramid:
    import pyvips

    root = tmp_path_factory.mktemp("pyramid")
    image = pyvips.Image.new_from_memory(smooth.tobytes(), WIDTH, HEIGHT, 3, "uchar")
    image.dzsave(str(root / "image"), tile_size=256, overlap=0, depth="onepixel", layout="dz", suffix=".jpg[Q=95]")
    assert is_pyramid(root)
    return Pyramid.open(root)


def test_levels_halve_rounding_up(pyramid: Pyramid) -> None:
    assert (pyramid.width, pyramid.height, pyramid.tile_size, pyramid.levels) == (WIDTH, HEIGHT, 256, 11)
    assert pyramid.level_size(10) == (1000, 700) and pyramid.level_size(9) == (500, 350)
    assert pyramid.level_size(8) == (250, 175) and pyramid.level_size(0) == (1, 1)
    assert pyramid.level_fitting(200_000) == 9 and pyramid.level_covering(400, 300) == 9
    with pytest.raises(ValueError):
        pyramid.level_size(11)


def test_a_region_across_tiles_is_the_image_there(pyramid: Pyramid, smooth: np.ndarray) -> None:
    region = pyramid.read(10, 200, 100, 400, 300)  # crosses tile edges at 256 and 512
    assert region.shape == (300, 400, 3)
    assert np.abs(region.astype(int) - smooth[100:400, 200:600]).mean() < 3
    last = pyramid.read(10, 900, 600, 100, 100)  # the last, smaller tiles
    assert np.abs(last.astype(int) - smooth[600:, 900:]).mean() < 3
    with pytest.raises(ValueError, match="outside"):
        pyramid.read(10, 950, 0, 100, 10)


def test_a_zoom_view_reads_like_the_crop_of_the_full_image(pyramid: Pyramid, smooth: np.ndarray) -> None:
    for box, size in [
        ((100, 499, 300, 899), (200, 300)),
        ((0, HEIGHT - 1, 0, WIDTH - 1), (560, 800)),
        ((50, 149, 60, 159), (400, 400)),
    ]:
        expected = View(box, size).crop(smooth)
        got = pyramid.read_view(box, *size)
        assert got.shape == (*size, 3)
        assert np.abs(got.astype(float) - expected).mean() < 4, (box, size)
