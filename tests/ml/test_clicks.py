"""Click encoding: radius-5 disks exactly as RITM/EISeg (and the Paddle fixtures) build them."""

from __future__ import annotations

import numpy as np
import pytest

from ml.inference.clicks import Click, check_inside, click_maps, coord_features, disk_map
from ml.paths import shared_dir

FIXTURES = shared_dir() / "fixtures"  # $EDGEFLOW_SHARED_DIR, default <repo>/../shared

RITM_CASES = ["ritm_hrnet18_ocr64_case_a", "ritm_hrnet18_ocr64_case_b", "ritm_hrnet18_ocr64_case_c"]
EDGEFLOW_CASES = ["edgeflow_random_case_a", "edgeflow_random_case_b"]


def load_case(name: str) -> dict[str, np.ndarray]:
    path = FIXTURES / f"{name}.npz"
    if not path.exists():
        pytest.fail(f"fixture {path} not found (set EDGEFLOW_SHARED_DIR)")
    with np.load(path) as npz:
        return {key: npz[key] for key in npz.files}


def fixture_clicks(rows: np.ndarray) -> list[Click]:
    """Fixture rows are ``[y, x, is_positive]``."""
    return [Click(x=int(x), y=int(y), positive=bool(p)) for y, x, p in rows]


def reference_disks(clicks: list[Click], height: int, width: int) -> np.ndarray:
    """Brute force over the whole map, float32, in RITM ``DistMaps`` order of operations."""
    rows = np.arange(height, dtype=np.float32)[:, None]
    cols = np.arange(width, dtype=np.float32)[None, :]
    out = np.zeros((2, height, width), dtype=np.float32)
    for channel, sign in enumerate((True, False)):
        dist = np.full((height, width), 1e6, dtype=np.float32)
        for click in (c for c in clicks if c.positive is sign):
            dr, dc = rows - np.float32(click.y), cols - np.float32(click.x)
            dist = np.minimum(dist, dr * dr + dc * dc)
        out[channel] = (dist <= np.float32(25.0)).astype(np.float32)
    return out


@pytest.mark.parametrize("name", RITM_CASES + EDGEFLOW_CASES)
def test_coord_features_reproduce_fixture_exactly(name: str) -> None:
    case = load_case(name)
    expected = case["coord_features"].astype(np.float32)
    features = coord_features(expected[0], fixture_clicks(case["clicks"]))
    assert features.dtype == np.float32
    assert features.shape == expected.shape
    np.testing.assert_array_equal(features[1], expected[1])
    np.testing.assert_array_equal(features[2], expected[2])
    np.testing.assert_array_equal(features[0], expected[0])


def test_single_disk_has_81_pixels_and_is_symmetric() -> None:
    disk = disk_map([Click(20, 30, True)], 60, 50)
    assert disk.sum() == 81
    window = disk[25:36, 15:26]
    np.testing.assert_array_equal(window, window[::-1])
    np.testing.assert_array_equal(window, window.T)
    assert disk[30, 25] == 1 and disk[30, 26] == 0 and disk[33, 24] == 1 and disk[34, 24] == 0


def test_fractional_centres_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    height, width = 37, 53
    xs = np.concatenate([rng.uniform(0, width, 40), [0.5, 4.5, width - 0.01, 3.999999, 7.0000001]])
    ys = np.concatenate([rng.uniform(0, height, 40), [0.5, 36.5, 0.0, 5.5, 12.25]])
    clicks = [Click(float(x), float(y), bool(i % 3)) for i, (x, y) in enumerate(zip(xs, ys, strict=True))]
    np.testing.assert_array_equal(click_maps(clicks, height, width), reference_disks(clicks, height, width))


def test_disks_are_clipped_at_the_border() -> None:
    corner = disk_map([Click(0, 0, True)], 20, 20)
    assert corner.sum() == 6 + 5 + 5 + 5 + 4 + 1  # rows 0..5 of the quarter disk
    assert corner[:, -5:].sum() == 0 and corner[-5:, :].sum() == 0


def test_positive_and_negative_go_to_separate_channels() -> None:
    clicks = [Click(10, 10, True), Click(12, 10, True), Click(40, 30, False)]
    maps = click_maps(clicks, 50, 60)
    assert maps.shape == (2, 50, 60)
    assert maps[0, 10, 10] == 1 and maps[0, 30, 40] == 0
    assert maps[1, 30, 40] == 1 and maps[1, 10, 10] == 0
    union = np.maximum(disk_map(clicks[:1], 50, 60), disk_map(clicks[1:2], 50, 60))
    np.testing.assert_array_equal(maps[0], union)
    assert set(np.unique(maps)) <= {0.0, 1.0}


def test_no_clicks_give_empty_maps() -> None:
    features = coord_features(np.full((8, 9), 0.25, np.float32), [])
    assert features.shape == (3, 8, 9)
    assert features[1:].sum() == 0
    assert np.all(features[0] == 0.25)


@pytest.mark.parametrize(("x", "y"), [(-1, 5), (10, 5), (5, -0.1), (5, 8), (float("nan"), 2), (2, float("inf"))])
def test_check_inside_rejects_clicks_outside(x: float, y: float) -> None:
    with pytest.raises(ValueError, match="outside the image"):
        check_inside(Click(x, y, True), height=8, width=10)


def test_check_inside_accepts_the_last_pixel() -> None:
    check_inside(Click(9, 7, True), height=8, width=10)
    check_inside(Click(9.99, 7.5, False), height=8, width=10)


def test_click_list_round_trip() -> None:
    clicks = [Click(3, 4, True), Click(2.5, 7.25, False)]
    rows = [c.as_list() for c in clicks]
    assert rows == [[3, 4, 1], [2.5, 7.25, 0]]
    assert [Click.from_list(r) for r in rows] == clicks
