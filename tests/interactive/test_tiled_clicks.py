"""Clicks on a tiled image: the worker reads the tile pyramid (never the original), answers in full-resolution pixels.

A 3000×2400 llama (GrabCut's, upscaled) made into a pyramid by the upload path's own builder, with
INFERENCE_MAX_PIXELS at 200 000, so the session works on a 500×400 overview read from a pyramid level.
"""

import time
import uuid
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage

from backend.images.large import build_pyramid
from backend.interactive import caches, jobs, store
from backend.interactive.jobs import ClickJob
from backend.interactive.store import RedisStateStore
from ml.inference.clicks import Click
from ml.inference.pyramid import Pyramid
from ml.inference.state import decode_state
from ml.inference.working_copy import load_working_image
from ml.postprocess import MaskOptions, polygons_to_mask
from tests.live_stack import GRABCUT, TEST_REDIS_URL, grabcut_mask

MODEL = "hrnet18-ocr64-cocolvis"
LIMIT = 200_000
WIDTH, HEIGHT = 3000, 2400
CLICK = [round(250 * WIDTH / 513), round(200 * HEIGHT / 371)]  # the llama's body


@pytest.fixture(scope="module")
def llama_pyramid(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiled")
    source = folder / "llama.jpg"
    llama = PILImage.open(GRABCUT / "images" / "llama.bmp").convert("RGB").resize((WIDTH, HEIGHT), PILImage.BICUBIC)
    llama.save(source, quality=92)
    build_pyramid(source, folder / "pyramid")
    source.unlink()  # the worker only ever has the pyramid
    return folder / "pyramid"


@pytest.fixture
def redis_store(monkeypatch) -> RedisStateStore:
    state = RedisStateStore(TEST_REDIS_URL)
    monkeypatch.setattr(store, "_store", state)
    return state


def fresh_worker(monkeypatch, folder: Path, max_pixels: int = LIMIT) -> None:
    monkeypatch.setattr(caches, "images", caches.ImageCache(64 * 2**20, max_pixels=max_pixels, folder=folder))
    monkeypatch.setattr(caches, "live_sessions", caches.LRU(8))


def run(path: Path, session: str, seq: int, clicks: list) -> dict:
    spec = ClickJob(
        session=session,
        seq=seq,
        model=MODEL,
        image_path=str(path),
        image_sha256="tiled-llama",
        clicks=tuple(Click.from_list(row) for row in clicks),
        options=MaskOptions(),
        expect_state=seq > 1,
        reply_channel="",
        submitted_at=time.time(),
    )
    reply, persist = jobs.run_job(spec)
    persist()
    assert reply.ok, reply
    return reply.to_client()


def truth() -> tuple[np.ndarray, np.ndarray]:
    mask, ignore = grabcut_mask("llama")
    return tuple(cv2.resize(m.astype(np.uint8), (WIDTH, HEIGHT), interpolation=cv2.INTER_NEAREST) > 0
                 for m in (mask, ignore))  # fmt: skip


def iou(a: np.ndarray, b: np.ndarray, ignore: np.ndarray) -> float:
    return float((a & b & ~ignore).sum() / max(1, ((a | b) & ~ignore).sum()))


def test_a_tiled_image_keeps_only_its_pyramid_and_a_small_view(llama_pyramid, tmp_path) -> None:
    image = load_working_image(str(llama_pyramid), "tiled-llama", max_pixels=LIMIT, folder=tmp_path)
    assert image.pyramid is not None and (image.frame.width, image.frame.height) == (WIDTH, HEIGHT)
    assert not image.frame.scaled  # clicks and shapes are in image pixels
    assert image.rgb.shape == (640, 800, 3)  # the first click's whole-image view, longer side 800
    reference = np.asarray(
        PILImage.open(GRABCUT / "images" / "llama.bmp").convert("RGB").resize((800, 640), PILImage.BILINEAR)
    )
    assert np.abs(image.rgb.astype(int) - reference).mean() < 8
    assert not any(tmp_path.iterdir())  # no working copy written


def test_clicks_on_a_tiled_image_come_back_in_full_resolution(
    redis_store, monkeypatch, tmp_path, llama_pyramid
) -> None:
    fresh_worker(monkeypatch, tmp_path / "working")
    session = uuid.uuid4().hex
    first = run(llama_pyramid, session, 1, [[*CLICK, 1]])
    vertices = np.array([v for p in first["polygons"] for ring in [p["outer"], *p["holes"]] for v in ring])
    assert vertices.min() >= 0 and vertices[:, 0].max() < WIDTH and vertices[:, 1].max() < HEIGHT
    assert vertices[:, 0].max() > 1500  # image pixels, not the overview's
    assert first["mask_box"] == [0, 0, WIDTH, HEIGHT]  # the first click sees the whole image
    mask, ignore = truth()
    assert iou(polygons_to_mask(first["polygons"], HEIGHT, WIDTH), mask, ignore) > 0.8
    clicks = [[*CLICK, 1], [60 * WIDTH // 513, 330 * HEIGHT // 371, 0]]
    second = run(llama_pyramid, session, 2, clicks)
    assert second["steps"] == 1
    x, y, w, h = second["mask_box"]  # the zoom-in box: the RLE covers it, at most 1024 px a side
    assert x >= 0 and y >= 0 and x + w <= WIDTH and y + h <= HEIGHT and max(second["rle"]["size"]) <= 1024
    drawn = polygons_to_mask(second["polygons"], HEIGHT, WIDTH)
    assert iou(drawn, mask, ignore) > 0.8
    bx, by, bw, bh = second["bbox"]
    ys, xs = np.nonzero(drawn)
    assert abs(bx - xs.min()) <= 8 and abs(by - ys.min()) <= 8 and abs(bx + bw - 1 - xs.max()) <= 8
    assert abs(second["area"] - drawn.sum()) < 0.03 * second["area"]

    # What Redis keeps is network-sized, whatever the image; a worker that never saw the object continues it.
    _, blob = redis_store.load(session)
    state = decode_state(blob)
    assert state["tiled"] and state["probability"]["values"].size <= 800 * 800
    assert len(blob) < 2_000_000
    fresh_worker(monkeypatch, tmp_path / "working")
    undone = run(llama_pyramid, session, 3, clicks[:1])
    assert undone["steps"] == 0 and not undone["rebuilt"]
    again = polygons_to_mask(undone["polygons"], HEIGHT, WIDTH)
    assert iou(again, polygons_to_mask(first["polygons"], HEIGHT, WIDTH), ignore) > 0.99  # float16 in Redis


def test_a_tiled_session_segments_as_the_full_resolution_session_does(llama_pyramid, tmp_path) -> None:
    """The same clicks through ClickSession on the decoded 3000×2400 image and through the tiled session."""
    from ml.inference.predictor import ClickSession
    from ml.inference.tiled import TiledClickSession
    from ml.postprocess import mask_to_shape

    engine = caches.loaded_model(MODEL)
    pyramid = Pyramid.open(llama_pyramid)
    full = ClickSession(engine, zoom_in=True)
    full.set_image(pyramid.read_level(pyramid.max_level))
    tiled = TiledClickSession(engine, pyramid)
    mask, ignore = truth()
    clicks = [Click(*CLICK, True), Click(60 * WIDTH / 513, 330 * HEIGHT / 371, False)]
    for end in (1, 2):
        full.goto(clicks[:end])
        tiled.goto(clicks[:end])
        if end == 1:
            assert tiled.zoom_box is None and full.zoom_box is None
        else:  # the same zoom box, to the pixels of the network map's grid
            assert max(abs(a - b) for a, b in zip(tiled.zoom_box, full.zoom_box, strict=True)) <= 4
        expected = mask_to_shape(full.probability, MaskOptions())
        got = tiled.shape_of(MaskOptions())
        a, b = (polygons_to_mask(s["polygons"], HEIGHT, WIDTH) for s in (expected, got))
        assert iou(a, b, ignore) > 0.97, end
