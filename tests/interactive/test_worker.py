"""One click job at a time, in this process, with the real model and real Redis as the state store."""

import asyncio
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import redis

from backend.interactive import worker
from backend.interactive.codec import decode_state, encode_state
from backend.interactive.store import RedisStateStore
from tests.live_stack import GRABCUT, TEST_REDIS_URL

LLAMA = str(GRABCUT / "images" / "llama.bmp")
OPTIONS = {"threshold": 0.5, "largest_component": True, "tolerance": 1.0}


@pytest.fixture
def redis_store(monkeypatch) -> RedisStateStore:
    """The worker's store pointed at the test Redis, and an empty process cache (a fresh worker)."""
    store = RedisStateStore(TEST_REDIS_URL)
    monkeypatch.setattr(worker, "_store", store)
    monkeypatch.setattr(worker, "_sessions", worker.LRU(8))
    return store


def job(session: str, seq: int, clicks: list, **options) -> dict:
    return {
        "expect_state": seq > 1,
        "session": session,
        "seq": seq,
        "image": {"id": 1, "path": LLAMA, "sha256": "llama"},
        "model": "hrnet18-ocr64-cocolvis",
        "clicks": clicks,
        "options": {**OPTIONS, **options},
        "submitted_at": time.time(),
    }


def run(spec: dict) -> dict:
    reply, persist = worker.run_job(spec)
    persist()
    assert reply["ok"], reply
    return reply


def mask_iou(a: dict, b: dict) -> float:
    from pycocotools import mask as coco_mask

    a, b = ({"size": r["size"], "counts": r["counts"].encode()} for r in (a, b))
    return float(coco_mask.iou([a], [b], [0])[0][0])


CLICKS = [[250, 200, 1], [60, 330, 0], [300, 150, 1]]


def test_steps_follow_the_wanted_clicks(redis_store) -> None:
    session = uuid.uuid4().hex
    first = run(job(session, 1, CLICKS[:1]))
    assert first["steps"] == 1 and not first["rebuilt"]
    assert run(job(session, 2, CLICKS[:3]))["steps"] == 1  # two new clicks, one forward pass
    assert run(job(session, 3, CLICKS[:1]))["steps"] == 0  # undo twice: from history
    assert run(job(session, 4, CLICKS[:1], threshold=0.8))["steps"] == 0
    assert run(job(session, 5, []))["area"] == 0


def test_another_worker_continues_from_redis_with_the_same_result(redis_store, monkeypatch) -> None:
    session = uuid.uuid4().hex
    run(job(session, 1, CLICKS[:1]))
    here = run(job(session, 2, CLICKS[:2]))
    assert redis_store.version(session) == 2
    monkeypatch.setattr(worker, "_sessions", worker.LRU(8))  # as if the next click reached another worker
    moved = run(job(session, 3, CLICKS[:2]))
    assert not moved["rebuilt"] and moved["steps"] == 0
    assert mask_iou(moved["rle"], here["rle"]) > 0.999  # float16 storage moves at most a few border pixels
    after_undo = run(job(session, 4, CLICKS[:1]))  # the undo history travelled too
    assert after_undo["steps"] == 0


def test_lost_state_is_rebuilt_from_the_clicks(redis_store, monkeypatch) -> None:
    session = uuid.uuid4().hex
    run(job(session, 1, CLICKS[:1]))
    original = run(job(session, 2, CLICKS[:2]))
    redis.Redis.from_url(TEST_REDIS_URL).delete(*redis_store._keys(session))  # Redis restarted empty
    monkeypatch.setattr(worker, "_sessions", worker.LRU(8))
    rebuilt = run(job(session, 3, CLICKS[:2]))
    assert rebuilt["rebuilt"] and rebuilt["steps"] == 2  # replayed click by click
    assert rebuilt["rle"] == original["rle"]


def test_unknown_model_and_missing_image_are_reported(redis_store) -> None:
    reply, _ = worker.run_job({**job(uuid.uuid4().hex, 1, CLICKS[:1]), "model": "nope"})
    assert not reply["ok"] and reply["code"] == "model_unavailable"
    missing = job(uuid.uuid4().hex, 1, CLICKS[:1])
    missing["image"] = {"id": 2, "path": "/nonexistent.png", "sha256": "gone"}
    reply, _ = worker.run_job(missing)
    assert reply["code"] == "image_unavailable"


def test_state_codec_is_compact_and_faithful() -> None:
    rng = np.random.default_rng(0)
    probability = np.zeros((3000, 4000), np.float32)
    probability[1000:2000, 1000:3000] = 1.0
    probability[990:1000, 1000:3000] = rng.random((10, 2000), dtype=np.float32)
    state = {"clicks": [[1.0, 2.0, 1]], "prev_mask": probability, "undo": [{"prev_mask": probability}] * 12}
    blob = encode_state(state)
    assert len(blob) < 2_000_000
    back = decode_state(blob)
    assert len(back["undo"]) == 8 and back["prev_mask"].dtype == np.float32
    assert np.abs(back["prev_mask"] - probability).max() < 1e-3


def test_prepare_loads_the_model_and_decodes_the_image_before_the_first_click(
    redis_store, tmp_path, monkeypatch
) -> None:
    from backend.interactive import caches
    from backend.interactive.backends import LocalBackend

    copy = tmp_path / "llama.bmp"
    shutil.copy(LLAMA, copy)
    monkeypatch.setattr(worker, "_images", caches.ImageCache(64 * 2**20))  # a fresh worker's image cache
    image = {"path": str(copy), "sha256": "llama-prepared"}
    backend = LocalBackend()
    with ThreadPoolExecutor(1) as loop_thread:  # its own event loop: the suite may have one running in this thread
        loop_thread.submit(asyncio.run, backend.prepare("hrnet18-ocr64-cocolvis", image)).result()
    backend._preparer.shutdown(wait=True)  # prepare has run (a first click would have waited for its decode)
    assert "hrnet18-ocr64-cocolvis" in caches._engines
    copy.unlink()  # the first click is served from what prepare decoded
    spec = {**job(uuid.uuid4().hex, 1, CLICKS[:1]), "image": {"id": 1, **image}}
    assert run(spec)["area"] > 10000


def test_prepare_never_raises(redis_store) -> None:
    worker.prepare(model="no-such-model", image={"path": "/nonexistent.png", "sha256": "nope"})
