"""Fixtures of the teamwork tests: both kinds of store (the embedded default's memory, team mode's real Redis on
the suite's test database, TEST_REDIS_URL / TEST_REDIS_DB) and sockets on either."""

import uuid
from collections.abc import Iterator

import pytest
import redis

from backend.collab import leases, presence
from tests.live_stack import TEST_REDIS_URL


@pytest.fixture(params=["memory", "redis"])
def store_kind(request) -> str:
    return request.param


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"edgeflow:test-collab:{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(TEST_REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def lease_store(store_kind, redis_prefix) -> leases.LeaseStore:
    if store_kind == "redis":
        return leases.RedisLeaseStore(TEST_REDIS_URL, prefix=redis_prefix)
    return leases.MemoryLeaseStore()


@pytest.fixture
def presence_store(store_kind, redis_prefix) -> presence.PresenceStore:
    if store_kind == "redis":
        return presence.RedisPresenceStore(TEST_REDIS_URL, prefix=redis_prefix)
    return presence.MemoryPresenceStore()


def _drop_collab_keys() -> None:
    client = redis.Redis.from_url(TEST_REDIS_URL)
    keys = list(client.scan_iter(f"{leases.PREFIX}:*"))
    if keys:
        client.delete(*keys)


@pytest.fixture
def live_mode(store_kind, settings, monkeypatch) -> Iterator[str]:
    """The app's own stores (`lease_store()`, `presence_store()`): team mode's Redis (REDIS_URL set: the suite's
    test Redis database, its teamwork keys deleted) or the embedded default's memory (emptied). The channel layer
    stays in memory (its choice is made at start-up)."""
    from backend.interactive import store

    monkeypatch.setattr(store, "_store", store._store)  # the click-state store keeps the mode it started in
    if store_kind == "redis":
        settings.REDIS_URL = TEST_REDIS_URL
        _drop_collab_keys()
    else:
        settings.REDIS_URL = ""
    leases._memory.__init__()
    presence._memory.__init__()
    yield store_kind
    leases._memory.__init__()
    presence._memory.__init__()
    if store_kind == "redis":
        _drop_collab_keys()
