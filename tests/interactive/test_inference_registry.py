"""The inference workers' registry behind /healthz (team mode), on the real Redis: workers publish while idle,
readers get them in one call, and entries not renewed within HEARTBEAT_TTL_S are dropped."""

import json
import time

import pytest
import redis

from backend.interactive import inference_status
from tests.live_stack import TEST_REDIS_URL
from tests.waiting import wait_until


@pytest.fixture
def registry(settings, monkeypatch) -> redis.Redis:
    settings.REDIS_URL = TEST_REDIS_URL
    monkeypatch.setattr(inference_status, "REGISTRY_KEY", f"edgeflow:test:workers:{time.time_ns()}")
    client = redis.Redis.from_url(TEST_REDIS_URL)
    yield client
    inference_status.stop_heartbeat()
    client.delete(inference_status.REGISTRY_KEY)


def seen(client: redis.Redis, worker: str) -> float | None:
    value = client.hget(inference_status.REGISTRY_KEY, worker)
    return json.loads(value)["seen"] if value else None


def test_a_published_worker_is_listed_until_its_entry_goes_stale(registry: redis.Redis) -> None:
    inference_status.publish("host-a:1")
    stale = {"worker": "host-b:2", "cpu": {}, "engines": {}, "seen": time.time() - inference_status.HEARTBEAT_TTL_S - 1}
    registry.hset(inference_status.REGISTRY_KEY, "host-b:2", json.dumps(stale))
    [listed] = inference_status.published_workers()
    assert listed["worker"] == "host-a:1" and listed["cpu"]["model"] and "engines" in listed
    assert registry.hkeys(inference_status.REGISTRY_KEY) == [b"host-a:1"]  # the stale entry was removed


def test_an_idle_worker_keeps_publishing(registry: redis.Redis, monkeypatch) -> None:
    monkeypatch.setattr(inference_status, "HEARTBEAT_EVERY_S", 0.05)
    inference_status.start_heartbeat("host-c:3")
    inference_status.start_heartbeat("host-c:3")  # once per process
    first = wait_until(lambda: seen(registry, "host-c:3"), timeout=30, what="the first heartbeat")
    wait_until(lambda: (seen(registry, "host-c:3") or 0) > first, timeout=30, what="a heartbeat without any click")
    inference_status.stop_heartbeat()
    assert [w["worker"] for w in inference_status.published_workers()] == ["host-c:3"]
