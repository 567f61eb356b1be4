"""Click jobs one at a time, in this process, with the real model and real Redis as the state store."""

import asyncio
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from backend.interactive import caches, jobs, store
from backend.interactive.jobs import ClickJob, JobReply, LocalBackend
from backend.interactive.store import RedisStateStore
from ml.inference.clicks import Click
from ml.postprocess import MaskOptions
from tests.live_stack import GRABCUT, TEST_REDIS_URL

LLAMA = str(GRABCUT / "images" / "llama.bmp")
MODEL = "hrnet18-ocr64-cocolvis"


@pytest.fixture
def redis_store(monkeypatch) -> RedisStateStore:
    """The jobs' store pointed at the test Redis, and an empty session cache (a fresh worker)."""
    state = RedisStateStore(TEST_REDIS_URL)
    monkeypatch.setattr(store, "_store", state)
    monkeypatch.setattr(caches, "live_sessions", caches.LRU(8))
    return state


def job(session: str, seq: int, clicks: list, path: str = LLAMA, sha256: str = "llama", **options) -> ClickJob:
    return ClickJob(
        session=session,
        seq=seq,
        model=MODEL,
        image_path=path,
        image_sha256=sha256,
        clicks=tuple(Click.from_list(row) for row in clicks),
        options=MaskOptions(**options),
        expect_state=seq > 1,
        reply_channel="test",
        submitted_at=time.time(),
    )


def run(spec: ClickJob) -> JobReply:
    reply, persist = jobs.run_job(spec)
    persist()
    assert reply.ok, reply
    return reply


def mask_iou(a: dict, b: dict) -> float:
    from pycocotools import mask as coco_mask

    a, b = ({"size": r["size"], "counts": r["counts"].encode()} for r in (a, b))
    return float(coco_mask.iou([a], [b], [0])[0][0])


CLICKS = [[250, 200, 1], [60, 330, 0], [300, 150, 1]]


def test_jobs_and_replies_travel_as_plain_messages() -> None:
    spec = job("s", 3, CLICKS, threshold=0.7, largest_component=False, tolerance=2.5)
    message = spec.to_message()
    assert message["clicks"] == CLICKS and message["image"] == {"path": LLAMA, "sha256": "llama"}
    assert message["options"] == {"threshold": 0.7, "largest_component": False, "tolerance": 2.5}
    assert ClickJob.from_message(message) == spec
    reply = JobReply(seq=3, clicks=3, steps=1, rle={"size": [1, 1], "counts": "1"}, bbox=[0, 0, 1, 1], area=1)
    assert JobReply.from_message(reply.to_message()) == reply
    assert reply.to_message()["type"] == jobs.RESULT_MESSAGE_TYPE and reply.to_client()["type"] == "mask"
    failed = JobReply.failed(4, "worker_timeout", "late")
    assert JobReply.from_message(failed.to_message()) == failed
    assert failed.to_client() == {"type": "error", "seq": 4, "code": "worker_timeout", "message": "late"}


def test_steps_follow_the_wanted_clicks(redis_store) -> None:
    session = uuid.uuid4().hex
    first = run(job(session, 1, CLICKS[:1]))
    assert first.steps == 1 and not first.rebuilt
    assert run(job(session, 2, CLICKS[:3])).steps == 1  # two new clicks, one forward pass
    assert run(job(session, 3, CLICKS[:1])).steps == 0  # undo twice: a known state
    assert run(job(session, 4, CLICKS[:3])).steps == 0  # redo
    assert run(job(session, 5, CLICKS[:1], threshold=0.8)).steps == 0
    assert run(job(session, 6, [])).area == 0


def test_another_worker_continues_from_redis_with_the_same_result(redis_store, monkeypatch) -> None:
    session = uuid.uuid4().hex
    run(job(session, 1, CLICKS[:1]))
    here = run(job(session, 2, CLICKS[:2]))
    assert redis_store.version(session) == 2
    monkeypatch.setattr(caches, "live_sessions", caches.LRU(8))  # as if the next click reached another worker
    moved = run(job(session, 3, CLICKS[:2]))
    assert not moved.rebuilt and moved.steps == 0
    assert mask_iou(moved.rle, here.rle) > 0.999  # float16 storage moves at most a few border pixels
    assert run(job(session, 4, CLICKS[:1])).steps == 0  # the known states travelled too


def test_lost_state_is_rebuilt_from_the_clicks(redis_store, monkeypatch) -> None:
    session = uuid.uuid4().hex
    run(job(session, 1, CLICKS[:1]))
    original = run(job(session, 2, CLICKS[:2]))
    redis.Redis.from_url(TEST_REDIS_URL).delete(*redis_store._keys(session))  # Redis restarted empty
    monkeypatch.setattr(caches, "live_sessions", caches.LRU(8))
    rebuilt = run(job(session, 3, CLICKS[:2]))
    assert rebuilt.rebuilt and rebuilt.steps == 2  # replayed click by click
    assert rebuilt.rle == original.rle


def test_forget_drops_the_state_here_and_in_the_store(redis_store) -> None:
    session = uuid.uuid4().hex
    run(job(session, 1, CLICKS[:1]))
    assert caches.live_sessions.get(session) is not None and redis_store.version(session) == 1
    jobs.forget(session)
    assert caches.live_sessions.get(session) is None and redis_store.load(session) is None


def test_unknown_model_and_missing_image_are_reported(redis_store) -> None:
    reply, _ = jobs.run_job(ClickJob.from_message({**job(uuid.uuid4().hex, 1, CLICKS[:1]).to_message(), "model": "x"}))
    assert reply.code == "model_unavailable"
    reply, _ = jobs.run_job(job(uuid.uuid4().hex, 1, CLICKS[:1], path="/nonexistent.png", sha256="gone"))
    assert reply.code == "image_unavailable"


def test_prepare_loads_the_model_and_decodes_the_image_before_the_first_click(
    redis_store, tmp_path, monkeypatch
) -> None:
    copy = tmp_path / "llama.bmp"
    shutil.copy(LLAMA, copy)
    monkeypatch.setattr(caches, "images", caches.ImageCache(64 * 2**20))  # a fresh worker's image cache
    backend = LocalBackend()
    with ThreadPoolExecutor(1) as loop_thread:  # its own event loop: the suite may have one running in this thread
        loop_thread.submit(asyncio.run, backend.prepare(MODEL, str(copy), "llama-prepared")).result()
    backend.preparer.shutdown(wait=True)  # prepare has run (a first click would have waited for its decode)
    assert MODEL in caches._models
    copy.unlink()  # the first click is served from what prepare decoded
    assert run(job(uuid.uuid4().hex, 1, CLICKS[:1], path=str(copy), sha256="llama-prepared")).area > 10000


def test_prepare_never_raises(redis_store) -> None:
    jobs.prepare("no-such-model", "/nonexistent.png", "nope")
