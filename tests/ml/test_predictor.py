"""ClickSession on the real pretrained HRNet18-OCR64 (and EdgeFlow with the fixture weights); zoom-in maths.

The network tests need ``python -m ml.weights fetch`` to have registered ``hrnet18-ocr64-cocolvis``.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from ml.evaluation.metrics import iou
from ml.inference import (
    ClickSession,
    TorchEngine,
    ZoomInParams,
    decode_state,
    encode_state,
    pack_state,
    to_rgb_uint8,
    unpack_state,
)
from ml.inference.clicks import Click, coord_features
from ml.inference.resize import resize_bilinear
from ml.inference.zoom_in import (
    View,
    box_iou,
    clamp_box,
    crop_view,
    expand_box,
    full_view,
    needs_recalculation,
    object_roi,
    select_roi,
)
from ml.paths import shared_dir

FIXTURES = shared_dir() / "fixtures"  # $EDGEFLOW_SHARED_DIR, default <repo>/../shared
MODEL_NAME = "hrnet18-ocr64-cocolvis"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# --------------------------------------------------------------------------- helpers
def load_case(name: str) -> dict[str, np.ndarray]:
    path = FIXTURES / f"{name}.npz"
    if not path.exists():
        pytest.fail(f"fixture {path} not found (set EDGEFLOW_SHARED_DIR)")
    with np.load(path) as npz:
        return {key: npz[key] for key in npz.files}


def fixture_clicks(rows: np.ndarray) -> list[Click]:
    """Fixture rows are ``[y, x, is_positive]``."""
    return [Click(x=int(x), y=int(y), positive=bool(p)) for y, x, p in rows]


def normalised(image_uint8: np.ndarray) -> np.ndarray:
    scaled = image_uint8.astype(np.float32) / np.float32(255)
    return ((scaled - np.float32(IMAGENET_MEAN)) / np.float32(IMAGENET_STD)).transpose(2, 0, 1)


class Recorder:
    """Wraps a real engine and keeps a copy of every input it was given."""

    def __init__(self, engine: TorchEngine) -> None:
        self.engine = engine
        self.name, self.mean, self.std = engine.name, engine.mean, engine.std
        self.prev_channel = engine.prev_channel
        self.inputs: list[tuple[np.ndarray, np.ndarray]] = []
        self.outputs: list[dict[str, np.ndarray]] = []

    def __call__(self, image: np.ndarray, coord_features: np.ndarray) -> dict[str, np.ndarray]:
        self.inputs.append((image.copy(), coord_features.copy()))
        self.outputs.append(self.engine(image, coord_features))
        return self.outputs[-1]


def snapshot(session: ClickSession) -> dict:
    return {
        "clicks": session.clicks,
        "probability": session.probability.copy(),
        "edge": None if session.edge is None else session.edge.copy(),
        "zoom_box": session.zoom_box,
    }


def assert_same_state(session: ClickSession, expected: dict) -> None:
    assert session.clicks == expected["clicks"]
    assert session.zoom_box == expected["zoom_box"]
    np.testing.assert_array_equal(session.probability, expected["probability"])
    if expected["edge"] is None:
        assert session.edge is None
    else:
        np.testing.assert_array_equal(session.edge, expected["edge"])


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def ritm():
    from ml.weights import load_model

    loaded = load_model(MODEL_NAME)
    assert loaded.prev_channel == "mask"
    assert np.allclose(loaded.mean, IMAGENET_MEAN) and np.allclose(loaded.std, IMAGENET_STD)
    return TorchEngine(loaded)


@pytest.fixture(scope="module")
def edgeflow():
    from ml.weights import load_model

    weights = FIXTURES / "edgeflow_random.pdparams"
    if not weights.exists():
        pytest.fail(f"{weights} not found (set EDGEFLOW_SHARED_DIR)")
    loaded = load_model("edgeflow", weights=weights)
    assert loaded.prev_channel == "edge"
    return TorchEngine(loaded)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return load_case("ritm_hrnet18_ocr64_case_a")["image_uint8"]


# --------------------------------------------------------------------------- fixture reproduction
def test_one_click_reproduces_paddle_mask(ritm: TorchEngine) -> None:
    case = load_case("ritm_hrnet18_ocr64_case_a")
    (click,) = fixture_clicks(case["clicks"])
    recorder = Recorder(ritm)
    session = ClickSession(recorder, zoom_in=False)
    session.set_image(case["image_uint8"])
    probability = session.add_click(click.x, click.y, click.positive)

    (image, features), *rest = recorder.inputs
    assert rest == []
    np.testing.assert_array_equal(features[0], case["coord_features"].astype(np.float32))
    np.testing.assert_allclose(image[0], normalised(case["image_uint8"]), atol=1e-6)

    logits = session.last_prediction.outputs["instances"]
    expected = case["out0"]
    assert iou(logits > 0, expected > 0) >= 0.99
    assert np.abs(logits - expected).max() <= 1e-2 * max(1.0, float(np.abs(expected).max()))
    assert probability.shape == (400, 400) and probability.dtype == np.float32
    assert iou(probability > 0.5, expected > 0) >= 0.99


def test_default_zoom_in_leaves_the_first_click_on_the_whole_image(ritm: TorchEngine) -> None:
    case = load_case("ritm_hrnet18_ocr64_case_a")
    (click,) = fixture_clicks(case["clicks"])
    session = ClickSession(ritm)
    session.set_image(case["image_uint8"])
    probability = session.add_click(click.x, click.y, click.positive)
    assert session.zoom_box is None
    assert iou(probability > 0.5, case["out0"] > 0) >= 0.99


def test_non_square_case_reproduces_paddle_mask(ritm: TorchEngine) -> None:
    case = load_case("ritm_hrnet18_ocr64_case_c")
    (click,) = fixture_clicks(case["clicks"])
    session = ClickSession(ritm, zoom_in=False)
    session.set_image(case["image_uint8"])
    probability = session.add_click(click.x, click.y, click.positive)
    assert probability.shape == (320, 480)
    assert iou(session.last_prediction.outputs["instances"] > 0, case["out0"] > 0) >= 0.99


def test_three_clicks_with_a_given_previous_mask_reproduce_paddle(ritm: TorchEngine) -> None:
    """Case b: previous mask = out0 > 0 of case a, loaded through the state API, then the third click."""
    case_a, case_b = load_case("ritm_hrnet18_ocr64_case_a"), load_case("ritm_hrnet18_ocr64_case_b")
    clicks = fixture_clicks(case_b["clicks"])
    recorder = Recorder(ritm)
    session = ClickSession(recorder, zoom_in=False)
    session.set_image(case_b["image_uint8"])
    state = session.export_state()
    state.update(clicks=[c.as_list() for c in clicks[:2]], probability=(case_a["out0"] > 0).astype(np.float32))
    session.load_state(state)
    session.add_click(clicks[2].x, clicks[2].y, clicks[2].positive)
    np.testing.assert_array_equal(recorder.inputs[0][1][0], case_b["coord_features"].astype(np.float32))
    assert iou(session.last_prediction.outputs["instances"] > 0, case_b["out0"] > 0) >= 0.99


def test_edgeflow_feeds_back_the_sigmoid_of_its_edge_output(edgeflow: TorchEngine) -> None:
    case = load_case("edgeflow_random_case_b")  # case a's edge logits saturate (28 to 1160)
    clicks = fixture_clicks(case["clicks"])
    recorder = Recorder(edgeflow)
    session = ClickSession(recorder, zoom_in=False)
    session.set_image(case["image_uint8"])
    state = session.export_state()
    state.update(clicks=[c.as_list() for c in clicks[:2]], edge=case["coord_features"][0])
    session.load_state(state)
    before = session.edge.copy()
    session.add_click(clicks[2].x, clicks[2].y, clicks[2].positive)

    np.testing.assert_array_equal(recorder.inputs[0][1][0], case["coord_features"])
    outputs = session.last_prediction.outputs
    for key in ("instances", "instances_edge"):
        scale = max(1.0, float(np.abs(case[key]).max()))
        assert np.abs(outputs[key] - case[key]).max() <= 1e-2 * scale, key
    expected_edge = 1 / (1 + np.exp(-case["instances_edge"].astype(np.float64)))
    np.testing.assert_allclose(session.edge, expected_edge, atol=1e-2)
    np.testing.assert_allclose(
        session.probability, 1 / (1 + np.exp(-outputs["instances"].astype(np.float64))), atol=1e-6
    )

    after_third = session.edge.copy()
    session.add_click(300, 120, True)
    np.testing.assert_array_equal(recorder.inputs[1][1][0, 0], after_third)  # fed back at full resolution
    assert session.goto(clicks[:3]) == 0  # undo
    np.testing.assert_array_equal(session.edge, after_third)
    assert session.goto(clicks[:2]) == 0  # the loaded state is known too
    np.testing.assert_array_equal(session.edge, before)
    assert session.goto(clicks[:3]) == 0  # redo
    np.testing.assert_array_equal(session.edge, after_third)
    assert len(recorder.inputs) == 2


# --------------------------------------------------------------------------- known states (undo / redo) and state
def test_goto_known_states_restores_clicks_probability_and_zoom_box(ritm: TorchEngine, astronaut: np.ndarray) -> None:
    recorder = Recorder(ritm)
    session = ClickSession(recorder)
    session.set_image(astronaut)
    empty = snapshot(session)
    clicks = [Click(190, 110, True), Click(200, 250, True), Click(330, 60, False)]
    states = [empty]
    for click in clicks:
        session.add_click(click.x, click.y, click.positive)
        states.append(snapshot(session))
    assert states[2]["zoom_box"] is not None, "the second click should zoom in (RITM skip_clicks=1)"
    assert len(recorder.inputs) == 3

    assert session.goto(clicks[:2]) == 0  # undo: no forward pass, the exact state before the click
    assert_same_state(session, states[2])
    assert session.goto(clicks[:1]) == 0
    assert_same_state(session, states[1])
    assert session.goto(clicks[:2]) == 0  # redo
    assert_same_state(session, states[2])
    assert session.goto(clicks) == 0 and session.goto(clicks) == 0
    assert_same_state(session, states[3])
    assert session.goto([]) == 0  # the empty state is always known
    assert_same_state(session, empty)
    assert not session.probability.any()
    assert session.goto(clicks[:1]) == 0
    assert len(recorder.inputs) == 3

    other = Click(250, 300, True)  # a new branch from the first click starts from its state
    assert session.goto([clicks[0], other]) == 1
    fresh = Recorder(ritm)
    straight = ClickSession(fresh)
    straight.set_image(astronaut)
    straight.add_click(clicks[0].x, clicks[0].y, True)
    straight.add_click(other.x, other.y, True)
    np.testing.assert_array_equal(recorder.inputs[3][1], fresh.inputs[1][1])  # same previous mask and disks
    np.testing.assert_array_equal(session.probability, straight.probability)
    assert session.knows(clicks) and session.knows([clicks[0], other])  # the other branch is still known

    session.reset()
    assert session.clicks == [] and not session.knows(clicks[:1])
    assert session.goto(clicks) == 1  # missing clicks are added in one forward pass
    assert session.clicks == clicks and len(recorder.inputs) == 5
    assert session.knows(clicks) and not session.knows(clicks[:2])


def test_replay_reproduces_the_click_by_click_predictions(ritm: TorchEngine, astronaut: np.ndarray) -> None:
    clicks = [Click(190, 110, True), Click(200, 250, True), Click(330, 60, False)]
    original = ClickSession(ritm)
    original.set_image(astronaut)
    states = []
    for click in clicks:
        original.add_click(click.x, click.y, click.positive)
        states.append(snapshot(original))

    recorder = Recorder(ritm)
    rebuilt = ClickSession(recorder)
    rebuilt.set_image(astronaut)
    assert rebuilt.goto(clicks, replay=True) == 3 and len(recorder.inputs) == 3
    assert_same_state(rebuilt, states[2])
    for count in (1, 2):
        assert rebuilt.goto(clicks[:count]) == 0
        assert_same_state(rebuilt, states[count - 1])
    assert rebuilt.goto([*clicks[:1], Click(50, 50, False), Click(60, 60, False)], replay=True) == 2


def test_exported_state_continues_in_another_session(ritm: TorchEngine, astronaut: np.ndarray) -> None:
    session = ClickSession(ritm)
    session.set_image(astronaut)
    session.add_click(190, 110, True)
    session.add_click(200, 250, True)

    state = unpack_state(pack_state(session.export_state()))
    assert state["probability"].shape == astronaut.shape[:2] and state["probability"].dtype == np.float32
    assert state["version"] == 2 and state["edge"] is None
    assert [len(known["clicks"]) for known in state["known"]] == [1]  # the current state is not repeated
    assert state["zoom_box"] == list(session.zoom_box)
    other = ClickSession.from_state(ritm, astronaut, state)
    assert other.clicks == session.clicks and other.zoom_box == session.zoom_box

    np.testing.assert_array_equal(other.add_click(330, 60, False), session.add_click(330, 60, False))
    for count in (2, 1):
        assert other.goto(session.clicks[:count]) == 0 and session.goto(session.clicks[:count]) == 0
        np.testing.assert_array_equal(other.probability, session.probability)
    assert other.zoom_box == session.zoom_box is None

    with pytest.raises(ValueError, match="shape"):
        ClickSession.from_state(ritm, astronaut[:300], state)
    with pytest.raises(ValueError, match="version"):
        ClickSession.from_state(ritm, astronaut, {**state, "version": 1})


def test_encoded_state_is_compact_faithful_and_keeps_eight_known_states(
    ritm: TorchEngine, astronaut: np.ndarray
) -> None:
    image = np.ascontiguousarray(astronaut[60:220, 100:300])
    session = ClickSession(ritm)
    session.set_image(image)
    clicks = [Click(90 + 5 * i, 50 + 6 * i, i % 3 != 2) for i in range(12)]
    assert session.goto(clicks, replay=True) == 12
    state = session.export_state()
    assert len(state["known"]) == 11

    blob = encode_state(state)
    back = decode_state(blob)
    assert len(blob) < 8 * image.shape[0] * image.shape[1] * 2  # below 8 float16 maps unpacked
    assert back["probability"].dtype == np.float32 and len(back["known"]) == 7  # plus the current one: 8
    assert np.abs(back["probability"] - state["probability"]).max() < 5e-4
    assert [known["clicks"] for known in back["known"]] == [known["clicks"] for known in state["known"][-7:]]

    restored = ClickSession.from_state(ritm, image, back)
    assert restored.clicks == clicks
    assert all(restored.knows(clicks[:count]) for count in range(5, 13))
    assert not restored.knows(clicks[:4])
    assert restored.goto(clicks[:8]) == 0
    assert np.abs(restored.probability - session.goto(clicks[:8]) - session.probability).max() < 5e-4


def test_known_states_are_bounded_least_recently_used_first(ritm: TorchEngine, astronaut: np.ndarray) -> None:
    image = np.ascontiguousarray(astronaut[60:220, 100:300])
    session = ClickSession(ritm, max_history=3)
    session.set_image(image)
    a = [Click(90, 50, True), Click(100, 120, True), Click(20, 20, False)]
    assert session.goto(a, replay=True) == 3
    assert all(session.knows(a[:count]) for count in range(4))
    assert session.goto(a[:1]) == 0  # now the most recently used
    b = [a[0], Click(150, 30, False)]
    assert session.goto(b) == 1  # drops a[:2], the least recently used
    assert session.knows(a[:1]) and session.knows(a) and session.knows(b) and not session.knows(a[:2])
    assert session.goto(a[:2]) == 1
    assert session.goto([]) == 0

    single = ClickSession(ritm, max_history=1)
    single.set_image(image)
    single.goto(a[:2])
    assert single.goto(a) == 1 and single.goto(a[:2]) == 1 and single.goto([]) == 0
    with pytest.raises(ValueError, match="max_history"):
        ClickSession(ritm, max_history=0)


def test_goto_checks_the_missing_clicks_first(ritm: TorchEngine, astronaut: np.ndarray) -> None:
    image = np.ascontiguousarray(astronaut[60:220, 100:300])
    recorder = Recorder(ritm)
    session = ClickSession(recorder)
    session.set_image(image)
    session.goto([Click(90, 50, True), Click(100, 120, True)])
    with pytest.raises(ValueError, match="outside"):
        session.goto([*session.clicks, Click(10, 10, True), Click(200, 10, True)])
    assert len(session.clicks) == 2 and len(recorder.inputs) == 1


def test_click_outside_the_image_is_rejected(ritm: TorchEngine, astronaut: np.ndarray) -> None:
    session = ClickSession(ritm)
    session.set_image(astronaut[:100, :150])
    for x, y in [(150, 10), (-1, 10), (10, 100), (10, -0.5), (float("nan"), 3)]:
        with pytest.raises(ValueError, match="outside the image"):
            session.add_click(x, y, True)
    assert session.clicks == [] and session.goto([]) == 0
    with pytest.raises(RuntimeError, match="set_image"):
        ClickSession(ritm).add_click(1, 1, True)
    with pytest.raises(RuntimeError, match="set_image"):
        ClickSession(ritm).goto([])


# --------------------------------------------------------------------------- image formats and sizes
def test_rgba_grayscale_and_16_bit_images(ritm: TorchEngine, astronaut: np.ndarray) -> None:
    rgb = np.ascontiguousarray(astronaut[40:280, 60:380])
    session = ClickSession(ritm)
    session.set_image(rgb)
    expected = session.add_click(130, 70, True).copy()

    opaque = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    for variant in (opaque, rgb.astype(np.uint16) * 257):
        session.set_image(variant)
        np.testing.assert_array_equal(session.add_click(130, 70, True), expected)

    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    for variant in (gray, gray[:, :, None], gray.astype(np.uint16) * 257):
        session.set_image(variant)
        probability = session.add_click(130, 70, True)
        assert probability.shape == rgb.shape[:2] and probability.dtype == np.float32
        assert iou(probability > 0.5, expected > 0.5) >= 0.8


@pytest.mark.parametrize("shape", [(57, 613), (333, 71), (401, 399)])
def test_odd_aspect_ratios(ritm: TorchEngine, astronaut: np.ndarray, shape: tuple[int, int]) -> None:
    image = cv2.resize(astronaut, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)
    recorder = Recorder(ritm)
    session = ClickSession(recorder)
    session.set_image(image)
    height, width = shape
    session.add_click(width // 2, height // 3, True)
    probability = session.add_click(width // 3, height // 2, True)
    assert probability.shape == shape and probability.dtype == np.float32
    assert np.isfinite(probability).all() and probability.min() >= 0 and probability.max() <= 1
    assert recorder.inputs[0][0].shape[2:] == shape  # fits max_size: fed unchanged


def test_large_image_is_limited_then_zoomed(ritm: TorchEngine, astronaut: np.ndarray) -> None:
    image = cv2.resize(astronaut, (1000, 700), interpolation=cv2.INTER_LINEAR)
    recorder = Recorder(ritm)
    session = ClickSession(recorder, max_size=500)
    session.set_image(image)
    first = session.add_click(475, 190, True)
    assert recorder.inputs[0][0].shape[2:] == (350, 500)
    assert first.shape == (700, 1000)
    probability = session.add_click(500, 430, True)
    rmin, rmax, cmin, cmax = session.zoom_box
    box_h, box_w = rmax - rmin + 1, cmax - cmin + 1
    assert max(recorder.inputs[1][0].shape[2:]) == 400
    assert recorder.inputs[1][0].shape[2:] == crop_view(session.zoom_box, 400, 500).size
    assert (box_h, box_w) != (700, 1000)
    outside = np.ones_like(probability, bool)
    outside[rmin : rmax + 1, cmin : cmax + 1] = False
    assert not probability[outside].any()


def test_eiseg_zoom_squashes_every_click_to_400(ritm: TorchEngine, astronaut: np.ndarray) -> None:
    image = np.ascontiguousarray(astronaut[:, :300])
    recorder = Recorder(ritm)
    session = ClickSession(recorder, zoom_params=ZoomInParams.eiseg())
    session.set_image(image)
    session.add_click(190, 110, True)
    assert session.zoom_box == (0, 399, 0, 299)
    session.add_click(150, 250, True)
    assert [inputs[0].shape[2:] for inputs in recorder.inputs] == [(400, 400), (400, 400)]


def test_flip_averages_the_mirrored_prediction(ritm: TorchEngine, astronaut: np.ndarray) -> None:
    recorder = Recorder(ritm)
    session = ClickSession(recorder, flip=True, zoom_in=False)
    session.set_image(astronaut)
    probability = session.add_click(190, 110, True)
    (image, features), (outputs,) = recorder.inputs[0], recorder.outputs
    assert image.shape[0] == 2
    np.testing.assert_array_equal(image[1], image[0][:, :, ::-1])
    np.testing.assert_array_equal(features[1], features[0][:, :, ::-1])
    logits = outputs["instances"]
    merged = 0.5 * (logits[0, 0] + logits[1, 0, :, ::-1])
    np.testing.assert_allclose(session.last_prediction.outputs["instances"], merged, atol=1e-6)
    np.testing.assert_allclose(probability, 1 / (1 + np.exp(-merged.astype(np.float64))), atol=1e-6)
    case = load_case("ritm_hrnet18_ocr64_case_a")
    assert iou(logits[0, 0] > 0, case["out0"] > 0) >= 0.99  # the unflipped half is the plain prediction


# --------------------------------------------------------------------------- zoom-in maths (no network)
def test_expand_and_clamp_box_like_ritm() -> None:
    assert expand_box((100, 149, 10, 29), 1.4, 200) == (24, 224, -80, 120)
    assert expand_box((0, 299, 0, 99), 1.4, None) == (-60, 360, -20, 120)
    assert clamp_box((-60, 360, -20, 120), 300, 100) == (0, 299, 0, 99)
    assert box_iou((0, 9, 0, 9), (0, 9, 0, 9)) == 1.0
    assert box_iou((0, 9, 0, 9), (5, 14, 0, 9)) == pytest.approx(5 / 15)


def test_object_roi_includes_positive_clicks_only() -> None:
    mask = np.zeros((600, 800), bool)
    mask[300:320, 400:420] = True
    params = ZoomInParams(min_crop_size=10, expansion_ratio=1.0)
    assert object_roi(mask, [], params) == (300, 320, 400, 420)
    clicks = [Click(450.7, 350.2, True), Click(10, 10, False)]
    assert object_roi(mask, clicks, params) == (300, 350, 400, 450)
    assert object_roi(np.zeros((5, 5), bool), clicks, params) is None


def test_select_roi_rules() -> None:
    params = ZoomInParams()  # RITM: skip_clicks=1, min crop 200
    prob = np.zeros((1000, 1000), np.float32)
    one = [Click(500, 500, True)]
    assert select_roi(prob, one, None, params) == (None, False)  # first click skipped
    two = [*one, Click(510, 520, True)]
    assert select_roi(prob, two, None, params) == (None, False)  # empty previous mask → whole image
    prob[480:540, 490:530] = 0.9
    roi, use = select_roi(prob, two, None, params)
    assert use and roi == (410, 610, 410, 610)
    kept = (400, 620, 400, 620)
    assert select_roi(prob, two, kept, params) == (kept, True)  # IoU ≥ 0.5 and clicks inside: kept
    outside = [*two, Click(700, 505, True)]
    assert select_roi(prob, outside, kept, params)[0] != kept  # a positive click outside: recomputed
    assert select_roi(prob, [*two, Click(700, 505, False)], kept, params) == (kept, True)
    eiseg = ZoomInParams.eiseg()
    assert select_roi(np.zeros((300, 200), np.float32), one[:0] + [Click(5, 5, True)], None, eiseg) == (
        (0, 299, 0, 199),
        True,
    )


def test_recalculation_only_without_skip_clicks() -> None:
    prob = np.zeros((1000, 1000), np.float32)
    prob[100:150, 100:150] = 1
    assert needs_recalculation(prob, None, ZoomInParams(skip_clicks=0))
    assert not needs_recalculation(prob, None, ZoomInParams())
    assert not needs_recalculation(prob, (0, 999, 0, 999), ZoomInParams(skip_clicks=0))
    prob[:] = 1
    assert not needs_recalculation(prob, None, ZoomInParams(skip_clicks=0))


def test_views_sizes_and_click_mapping() -> None:
    assert full_view(400, 400, 800).size == (400, 400)
    assert full_view(1500, 260, 800).size == (800, 139)
    assert full_view(1500, 260, None).size == (1500, 260)
    assert crop_view((10, 209, 0, 99), 400, 800).size == (400, 200)
    assert crop_view((10, 209, 0, 99), (400, 400), 800).size == (400, 400)
    view = View((100, 299, 50, 149), (400, 200))
    assert view.to_network(Click(50, 100, True)) == Click(0.0, 0.0, True)
    assert view.to_network(Click(100, 200, False)) == Click(100.0, 200.0, False)
    identity = full_view(30, 40, 800)
    assert identity.to_network(Click(7, 9, True)) == Click(7, 9, True)


def test_crop_and_paste() -> None:
    rng = np.random.default_rng(0)
    values = rng.random((30, 40)).astype(np.float32)
    identity = full_view(30, 40, None)
    np.testing.assert_array_equal(identity.crop(values), values)
    np.testing.assert_array_equal(identity.paste(values, (30, 40)), values)
    rows, cols = np.mgrid[0:30, 0:40].astype(np.float32)
    ramp = 0.01 * rows + 0.02 * cols  # bilinear resampling keeps a linear ramp exactly
    view = View((5, 14, 10, 29), (19, 39))
    pasted = view.paste(view.crop(ramp), (30, 40))
    np.testing.assert_allclose(pasted[5:15, 10:30], ramp[5:15, 10:30], atol=1e-5)
    assert not pasted[:5].any() and not pasted[:, :10].any() and not pasted[15:].any()


@pytest.mark.parametrize(("source", "target"), [((37, 53), (400, 311)), ((400, 400), (123, 77)), ((5, 1), (9, 3))])
def test_resize_matches_torch_align_corners(source: tuple[int, int], target: tuple[int, int]) -> None:
    array = np.random.default_rng(1).random(source + (3,)).astype(np.float32)
    ours = resize_bilinear(array, *target)
    tensor = torch.from_numpy(array).permute(2, 0, 1)[None]
    theirs = torch.nn.functional.interpolate(tensor, size=target, mode="bilinear", align_corners=True)
    np.testing.assert_allclose(ours, theirs[0].permute(1, 2, 0).numpy(), atol=1e-6)


def test_to_rgb_uint8_conversions() -> None:
    rgb = np.random.default_rng(2).integers(0, 256, (6, 7, 3), dtype=np.uint8)
    assert to_rgb_uint8(rgb) is not None and np.array_equal(to_rgb_uint8(rgb), rgb)
    np.testing.assert_array_equal(to_rgb_uint8(rgb.astype(np.uint16) * 257), rgb)
    np.testing.assert_array_equal(to_rgb_uint8(rgb.astype(np.float32) / 255), rgb)
    rgba = np.concatenate([rgb, np.zeros((6, 7, 1), np.uint8)], axis=2)
    assert (to_rgb_uint8(rgba) == 255).all()  # fully transparent → white background
    rgba[..., 3] = 255
    np.testing.assert_array_equal(to_rgb_uint8(rgba), rgb)
    gray = rgb[..., 0]
    out = to_rgb_uint8(gray)
    assert out.shape == (6, 7, 3) and (out == gray[..., None]).all()
    np.testing.assert_array_equal(to_rgb_uint8(gray[..., None]), out)
    assert to_rgb_uint8(np.ones((2, 2), bool)).max() == 255
    with pytest.raises(ValueError):
        to_rgb_uint8(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(ValueError):
        to_rgb_uint8(np.zeros((0, 4, 3), np.uint8))


def test_coord_features_follow_the_view() -> None:
    view = View((0, 199, 0, 199), (400, 400))
    clicks = [view.to_network(Click(50, 60, True))]
    features = coord_features(view.crop(np.zeros((200, 200), np.float32)), clicks)
    assert features[1, 120, 100] == 1 and features[1].sum() == 81
