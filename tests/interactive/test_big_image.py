"""Huge images: one click is segmented on a bounded working copy, built once, and never starves other annotators.

The images are modest (1000×800) with a small INFERENCE_MAX_PIXELS (200 000), so that they take the working-copy
path quickly; the real model runs, the state goes to the real Redis, the stack is real daphne + Celery.
"""

import asyncio
import io
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
import pytest
import redis
from PIL import Image as PILImage
from PIL import ImageOps

from backend.interactive import caches, jobs, store
from backend.interactive.jobs import ClickJob, JobReply, LocalBackend
from backend.interactive.store import RedisStateStore
from ml.inference.clicks import Click
from ml.inference.state import decode_state
from ml.inference.working_copy import load_working_image
from ml.postprocess import MaskOptions, polygons_to_mask
from tests.live_stack import GRABCUT, TEST_REDIS_URL, Client, Stack, grabcut_mask, run_stack, token_for
from tests.waiting import wait_until

MODEL = "hrnet18-ocr64-cocolvis"
LIMIT = 200_000  # 1000×800 → a 500×400 working copy
WIDTH, HEIGHT = 1000, 800
CLICK = [round(250 * WIDTH / 513), round(200 * HEIGHT / 371)]  # the llama's body, as in test_worker


def big_llama() -> PILImage.Image:
    return PILImage.open(GRABCUT / "images" / "llama.bmp").convert("RGB").resize((WIDTH, HEIGHT), PILImage.BICUBIC)


def big_truth() -> tuple[np.ndarray, np.ndarray]:
    truth, ignore = grabcut_mask("llama")
    return tuple(cv2.resize(m.astype(np.uint8), (WIDTH, HEIGHT), interpolation=cv2.INTER_NEAREST) > 0
                 for m in (truth, ignore))  # fmt: skip


def drawn(reply: dict) -> np.ndarray:
    return polygons_to_mask(reply["polygons"], HEIGHT, WIDTH)


def iou(a: np.ndarray, b: np.ndarray, ignore: np.ndarray | None = None) -> float:
    keep = np.ones_like(a) if ignore is None else ~ignore
    return float((a & b & keep).sum() / max(1, ((a | b) & keep).sum()))


@pytest.fixture
def big_png(tmp_path) -> Path:
    path = tmp_path / "llama-1000x800.png"
    big_llama().save(path)
    return path


@pytest.fixture
def redis_store(monkeypatch) -> RedisStateStore:
    state = RedisStateStore(TEST_REDIS_URL)
    monkeypatch.setattr(store, "_store", state)
    monkeypatch.setattr(caches, "live_sessions", caches.LRU(8))
    return state


def fresh_worker(monkeypatch, folder: Path, max_pixels: int = LIMIT) -> None:
    """As if the next job reached a worker process that has not seen the image yet."""
    monkeypatch.setattr(caches, "images", caches.ImageCache(64 * 2**20, max_pixels=max_pixels, folder=folder))
    monkeypatch.setattr(caches, "live_sessions", caches.LRU(8))


def job(path: Path, session: str, seq: int, clicks: list, sha256: str = "big-llama", channel: str = "") -> ClickJob:
    return ClickJob(
        session=session,
        seq=seq,
        model=MODEL,
        image_path=str(path),
        image_sha256=sha256,
        clicks=tuple(Click.from_list(row) for row in clicks),
        options=MaskOptions(),
        expect_state=seq > 1,
        reply_channel=channel,
        submitted_at=time.time(),
    )


def run(spec: ClickJob) -> dict:
    """The job's `mask` message, as the client gets it."""
    reply, persist = jobs.run_job(spec)
    persist()
    assert reply.ok, reply
    return reply.to_client()


def test_a_click_on_a_huge_image_is_computed_on_the_working_copy_and_answered_in_image_pixels(
    redis_store, monkeypatch, tmp_path, big_png
) -> None:
    fresh_worker(monkeypatch, tmp_path / "full", max_pixels=WIDTH * HEIGHT)  # the image is within this limit
    full = run(job(big_png, uuid.uuid4().hex, 1, [[*CLICK, 1]]))
    assert full["rle"]["size"] == [HEIGHT, WIDTH]

    fresh_worker(monkeypatch, tmp_path / "working")
    session = uuid.uuid4().hex
    small = run(job(big_png, session, 1, [[*CLICK, 1]]))

    assert small["rle"]["size"] == [400, 500]
    vertices = np.array([v for p in small["polygons"] for ring in [p["outer"], *p["holes"]] for v in ring])
    assert vertices.min() >= 0 and vertices[:, 0].max() < WIDTH and vertices[:, 1].max() < HEIGHT
    assert iou(drawn(small), drawn(full)) > 0.9, "the same click as on the whole image"
    truth, ignore = big_truth()
    assert iou(drawn(small), truth, ignore) > 0.8
    x, y, w, h = small["bbox"]
    ys, xs = np.nonzero(drawn(small))
    assert x <= xs.min() and y <= ys.min() and x + w > xs.max() and y + h > ys.max() and x + w <= WIDTH
    assert abs(small["area"] - drawn(small).sum()) < 0.03 * small["area"]

    # What Redis keeps of the object is at the working size, never the image's.
    version, blob = redis_store.load(session)
    state = decode_state(blob)
    assert state["image_shape"] == [400, 500] and state["probability"].shape == (400, 500)
    assert state["edge"] is None or state["edge"].shape == (400, 500)

    # A second click continues from that state, and a worker that never saw the object continues it alike.
    second = run(job(big_png, session, 2, [[*CLICK, 1], [60 * WIDTH // 513, 330 * HEIGHT // 371, 0]]))
    assert second["steps"] == 1 and not second["rebuilt"]
    fresh_worker(monkeypatch, tmp_path / "working")
    undone = run(job(big_png, session, 3, [[*CLICK, 1]]))
    assert undone["steps"] == 0 and not undone["rebuilt"] and iou(drawn(undone), drawn(small)) > 0.99


def test_the_working_copy_is_built_once_and_every_later_worker_reuses_it(
    redis_store, monkeypatch, tmp_path, big_png
) -> None:
    folder = tmp_path / "working"
    fresh_worker(monkeypatch, folder)
    first = run(job(big_png, uuid.uuid4().hex, 1, [[*CLICK, 1]]))
    stored = folder / f"big-llama-{LIMIT}.npz"
    assert sorted(p.name for p in folder.iterdir()) == [stored.name]  # no temporary file left behind
    built = stored.stat()

    big_png.unlink()  # a later worker does not even need the original
    fresh_worker(monkeypatch, folder)
    again = run(job(big_png, uuid.uuid4().hex, 1, [[*CLICK, 1]]))
    assert again["rle"] == first["rle"] and again["polygons"] == first["polygons"]
    assert (stored.stat().st_ino, stored.stat().st_mtime_ns) == (built.st_ino, built.st_mtime_ns)


def test_a_damaged_working_copy_is_built_again(tmp_path, big_png) -> None:
    folder = tmp_path / "working"
    good = load_working_image(str(big_png), "llama", max_pixels=LIMIT, folder=folder)
    stored = folder / f"llama-{LIMIT}.npz"
    stored.write_bytes(stored.read_bytes()[:1000])  # a disk that filled up, a copy cut short
    again = load_working_image(str(big_png), "llama", max_pixels=LIMIT, folder=folder)
    assert np.array_equal(again.rgb, good.rgb) and again.frame == good.frame
    reread = load_working_image("/nonexistent.png", "llama", max_pixels=LIMIT, folder=folder)
    assert np.array_equal(reread.rgb, good.rgb)  # the rebuilt copy was stored whole


def test_the_working_copy_of_a_rotated_photo_is_upright(tmp_path) -> None:
    upright = big_llama().resize((800, 1000))  # portrait, as the browser shows it
    buffer = io.BytesIO()
    exif = PILImage.Exif()
    exif[0x0112] = 6  # stored rotated: the camera was turned
    upright.transpose(PILImage.Transpose.ROTATE_90).save(buffer, format="JPEG", quality=95, exif=exif)
    path = tmp_path / "rotated.jpg"
    path.write_bytes(buffer.getvalue())

    image = load_working_image(str(path), "rotated", max_pixels=LIMIT, folder=tmp_path / "working")

    assert (image.frame.width, image.frame.height) == (800, 1000) and image.rgb.shape == (500, 400, 3)
    with PILImage.open(path) as img:
        reference = np.asarray(ImageOps.exif_transpose(img).convert("RGB").resize((400, 500), PILImage.BILINEAR))
    assert np.abs(image.rgb.astype(int) - reference).mean() < 4


def test_preparing_a_huge_image_does_not_hold_up_the_clicks_of_others(
    redis_store, monkeypatch, tmp_path, big_png
) -> None:
    """A decode that takes long (here: an original that is not there to read yet) runs beside the clicks."""
    from channels.layers import get_channel_layer

    fresh_worker(monkeypatch, tmp_path / "working")
    caches.loaded_model(MODEL)  # loaded, as in a running server
    slow = tmp_path / "slow.png"
    os.mkfifo(slow)  # opening it for reading waits until someone writes
    small = shutil.copy(GRABCUT / "images" / "llama.bmp", tmp_path / "llama.bmp")
    backend = LocalBackend()

    async def prepare_then_click() -> dict:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await backend.prepare(MODEL, str(slow), "slow")
        await backend.submit(job(Path(small), uuid.uuid4().hex, 1, [[250, 200, 1]], "small", channel))
        return JobReply.from_message(await asyncio.wait_for(layer.receive(channel), timeout=60))

    try:
        with ThreadPoolExecutor(1) as loop_thread:  # its own event loop: the suite may have one in this thread
            reply = loop_thread.submit(asyncio.run, prepare_then_click()).result()
        assert reply.ok and reply.area > 10000
    finally:
        threading.Thread(target=lambda: open(slow, "wb").close(), daemon=True).start()  # let prepare go on
        backend.preparer.shutdown(wait=True)
        jobs.click_jobs.drain()


def test_prepare_builds_the_working_copy_before_the_first_click(redis_store, monkeypatch, tmp_path, big_png) -> None:
    folder = tmp_path / "working"
    fresh_worker(monkeypatch, folder)
    backend = LocalBackend()
    with ThreadPoolExecutor(1) as loop_thread:
        loop_thread.submit(asyncio.run, backend.prepare(MODEL, str(big_png), "big-llama")).result()
    backend.preparer.shutdown(wait=True)
    assert (folder / f"big-llama-{LIMIT}.npz").exists()
    big_png.unlink()  # the first click is served from what prepare built
    reply = run(job(big_png, uuid.uuid4().hex, 1, [[*CLICK, 1]]))
    assert reply["rle"]["size"] == [400, 500]


# ---------------------------------------------------------------------------------------------- the live stack
@pytest.fixture(scope="module")
def big_stack(tmp_path_factory, django_db_setup, django_db_blocker) -> Iterator[Stack]:
    yield from run_stack(tmp_path_factory, team=True, workers=1, extra_env={"INFERENCE_MAX_PIXELS": str(LIMIT)})


@pytest.fixture
def big_photo(transactional_db, settings, big_stack, world):
    from tests.conftest import upload_to_batch

    settings.MEDIA_ROOT = big_stack.media
    buffer = io.BytesIO()
    big_llama().save(buffer, format="PNG")
    return upload_to_batch(world, "big-llama.png", buffer.getvalue())


@pytest.mark.django_db(transaction=True)
def test_team_mode_click_on_a_huge_image(big_stack, world, big_photo) -> None:
    token = token_for(world.users["annotator"])
    conn = Client(big_stack, big_photo.pk, token)
    assert conn.recv()["image"] == {"id": big_photo.pk, "width": WIDTH, "height": HEIGHT}
    conn.send(type="start", label=world.label.pk)
    session = conn.until("started")["session"]
    conn.send(type="clicks", seq=1, clicks=[{"x": CLICK[0], "y": CLICK[1], "positive": True}])
    mask = conn.until("mask", seq=1)
    conn.close()

    assert mask["rle"]["size"] == [400, 500]
    truth, ignore = big_truth()
    assert iou(drawn(mask), truth, ignore) > 0.8
    folder = Path(big_stack.media) / "working"
    stored = folder / f"{big_photo.sha256}-{LIMIT}.npz"
    assert sorted(p.name for p in folder.iterdir()) == [stored.name]
    built = stored.stat()
    key = f"edgeflow:click:{session}:state"
    blob = wait_until(lambda: redis.Redis.from_url(TEST_REDIS_URL).get(key), timeout=30, what="the stored state")
    assert decode_state(blob)["probability"].shape == (400, 500)

    # Another annotator's object on the same image: the working copy is reused, not rebuilt.
    other = Client(big_stack, big_photo.pk, token)
    other.recv()
    other.send(type="start", label=world.label.pk)
    other.send(type="clicks", seq=1, clicks=[{"x": CLICK[0], "y": CLICK[1], "positive": True}])
    assert other.until("mask", seq=1)["polygons"] == mask["polygons"]
    other.close()
    assert (stored.stat().st_ino, stored.stat().st_mtime_ns) == (built.st_ino, built.st_mtime_ns)
