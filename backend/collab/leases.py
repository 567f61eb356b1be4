"""Leases: which connection is editing which saved object now (docs/interactive-protocol.md, "Leases").

A lease is held by one websocket connection (its channel name) of one user, for `LEASE_TTL_S`, renewed by that
connection's heartbeats. Team mode keeps them in Redis (any web process serves any socket): ``SET NX PX`` takes a
free lease, Lua scripts renew and delete it only for the connection holding it, and a set per image lists its
leased objects (members whose lease expired are dropped when it is read). The embedded default keeps them in this
process's memory. Both have the same interface and the same tests (tests/collab/test_lease_store.py).
"""

import json
import threading
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Protocol

import redis
from django.conf import settings

PREFIX = "edgeflow:collab"
INDEX_TTL_MS = 24 * 3600 * 1000

# KEYS[1] the lease; ARGV[1] the holder, ARGV[2] the TTL (ms). Renews it when ARGV[1] holds it; returns the lease
# as stored (nil when there is none).
_RENEW = """
local v = redis.call('GET', KEYS[1])
if not v then return false end
if cjson.decode(v)['holder'] == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v
"""
# KEYS[1] the lease; ARGV[1] the holder. Deletes it when ARGV[1] holds it.
_RELEASE = """
local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v)['holder'] == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
"""
# KEYS[1] the lease: deletes it whoever holds it and returns what it was.
_REMOVE = """
local v = redis.call('GET', KEYS[1])
if v then redis.call('DEL', KEYS[1]) end
return v
"""


@dataclass(frozen=True)
class Lease:
    object_id: int
    image_id: int
    holder: str  # the holding connection: its channel name
    user_id: int
    name: str  # the user's name, for the others' "Locked by <name>"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> "Lease":
        return cls(**json.loads(text))


class LeaseStore(Protocol):
    def take(self, lease: Lease, ttl_s: float) -> Lease:
        """Grant `lease` (or renew it when its connection holds it already) and return it; when another
        connection holds the object, return that connection's lease instead."""

    def renew(self, object_id: int, holder: str, ttl_s: float) -> bool:
        """Extend the lease if `holder` holds it; False when it does not (expired, broken or someone else's)."""

    def release(self, object_id: int, holder: str) -> bool:
        """Give the lease up if `holder` holds it; True when it did."""

    def remove(self, object_id: int) -> Lease | None:
        """Break the lease, whoever holds it; the lease it was, or None when there was none."""

    def get(self, object_id: int) -> Lease | None: ...

    def of_image(self, image_id: int) -> list[Lease]:
        """The image's current leases, by object id."""


def _ms(ttl_s: float) -> int:
    return max(1, int(ttl_s * 1000))


class RedisLeaseStore:
    def __init__(self, url: str, prefix: str = PREFIX) -> None:
        self.client = redis.Redis.from_url(url)
        self.prefix = prefix
        self._renew = self.client.register_script(_RENEW)
        self._release = self.client.register_script(_RELEASE)
        self._remove = self.client.register_script(_REMOVE)

    def _key(self, object_id: int) -> str:
        return f"{self.prefix}:lease:{object_id}"

    def _index(self, image_id: int) -> str:
        return f"{self.prefix}:image-leases:{image_id}"

    def take(self, lease: Lease, ttl_s: float) -> Lease:
        key, ms = self._key(lease.object_id), _ms(ttl_s)
        while True:
            if self.client.set(key, lease.to_json(), nx=True, px=ms):
                index = self._index(lease.image_id)
                self.client.pipeline().sadd(index, lease.object_id).pexpire(index, INDEX_TTL_MS).execute()
                return lease
            current = self._renew(keys=[key], args=[lease.holder, ms])
            if current is not None:
                return Lease.from_json(current)
            # it expired between the two calls: try again

    def renew(self, object_id: int, holder: str, ttl_s: float) -> bool:
        current = self._renew(keys=[self._key(object_id)], args=[holder, _ms(ttl_s)])
        return current is not None and Lease.from_json(current).holder == holder

    def release(self, object_id: int, holder: str) -> bool:
        return bool(self._release(keys=[self._key(object_id)], args=[holder]))

    def remove(self, object_id: int) -> Lease | None:
        current = self._remove(keys=[self._key(object_id)])
        return Lease.from_json(current) if current is not None else None

    def get(self, object_id: int) -> Lease | None:
        current = self.client.get(self._key(object_id))
        return Lease.from_json(current) if current is not None else None

    def of_image(self, image_id: int) -> list[Lease]:
        index = self._index(image_id)
        members = sorted(int(m) for m in self.client.smembers(index))
        if not members:
            return []
        values = self.client.mget([self._key(m) for m in members])
        stale = [m for m, v in zip(members, values, strict=True) if v is None]
        if stale:
            self.client.srem(index, *stale)
        leases = [Lease.from_json(v) for v in values if v is not None]
        return [lease for lease in leases if lease.image_id == image_id]


class MemoryLeaseStore:
    """The embedded default (one process): a dict under a lock, expiry checked on every read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._leases: dict[int, tuple[Lease, float]] = {}

    def _live(self, object_id: int) -> Lease | None:
        held = self._leases.get(object_id)
        if held is None:
            return None
        if held[1] <= time.monotonic():
            del self._leases[object_id]
            return None
        return held[0]

    def take(self, lease: Lease, ttl_s: float) -> Lease:
        with self._lock:
            current = self._live(lease.object_id)
            if current is not None and current.holder != lease.holder:
                return current
            kept = current or lease
            self._leases[lease.object_id] = (kept, time.monotonic() + ttl_s)
            return kept

    def renew(self, object_id: int, holder: str, ttl_s: float) -> bool:
        with self._lock:
            current = self._live(object_id)
            if current is None or current.holder != holder:
                return False
            self._leases[object_id] = (current, time.monotonic() + ttl_s)
            return True

    def release(self, object_id: int, holder: str) -> bool:
        with self._lock:
            current = self._live(object_id)
            if current is None or current.holder != holder:
                return False
            del self._leases[object_id]
            return True

    def remove(self, object_id: int) -> Lease | None:
        with self._lock:
            current = self._live(object_id)
            self._leases.pop(object_id, None)
            return current

    def get(self, object_id: int) -> Lease | None:
        with self._lock:
            return self._live(object_id)

    def of_image(self, image_id: int) -> list[Lease]:
        with self._lock:
            live = (self._live(object_id) for object_id in sorted(self._leases))
            return [lease for lease in live if lease is not None and lease.image_id == image_id]


_memory = MemoryLeaseStore()


@lru_cache(maxsize=8)
def _redis_store(url: str) -> RedisLeaseStore:
    return RedisLeaseStore(url)


def lease_store() -> LeaseStore:
    """Redis in team mode (REDIS_URL set), this process's memory in the embedded default."""
    return _redis_store(settings.REDIS_URL) if settings.REDIS_URL else _memory
