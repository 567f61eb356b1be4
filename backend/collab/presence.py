"""Presence: who has which image of a project open (annotate sockets) and who is on its project page (project
sockets). One entry per connection, refreshed by the connection's heartbeats; an entry not refreshed for
`PRESENCE_TTL_S` is stale and dropped when the project's entries are read (a process that died leaves nothing for
long). Team mode: a Redis hash per project, connection → entry; the embedded default: this process's memory.
"""

import json
import threading
import time
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from typing import Protocol

import redis
from django.conf import settings

from backend.collab.leases import PREFIX

HASH_TTL_S = 24 * 3600


@dataclass(frozen=True)
class Presence:
    connection: str  # the socket's channel name
    user_id: int
    name: str
    role: str
    image_id: int | None  # None: the project page
    batch_id: int | None = None  # the batch of that image (the project page shows who works in which batch)
    seen: float = 0.0  # time.time() of the last touch

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> "Presence":
        return cls(**json.loads(text))


class PresenceStore(Protocol):
    def touch(self, project_id: int, entry: Presence) -> None:
        """Add or refresh the connection's entry (its `seen` becomes now)."""

    def leave(self, project_id: int, connection: str) -> None: ...

    def of_project(self, project_id: int, ttl_s: float) -> list[Presence]:
        """The project's entries seen within `ttl_s`, by connection; older ones are dropped."""


class RedisPresenceStore:
    def __init__(self, url: str, prefix: str = PREFIX) -> None:
        self.client = redis.Redis.from_url(url)
        self.prefix = prefix

    def _key(self, project_id: int) -> str:
        return f"{self.prefix}:presence:{project_id}"

    def touch(self, project_id: int, entry: Presence) -> None:
        key = self._key(project_id)
        value = replace(entry, seen=time.time()).to_json()
        self.client.pipeline().hset(key, entry.connection, value).expire(key, HASH_TTL_S).execute()

    def leave(self, project_id: int, connection: str) -> None:
        self.client.hdel(self._key(project_id), connection)

    def of_project(self, project_id: int, ttl_s: float) -> list[Presence]:
        key, oldest = self._key(project_id), time.time() - ttl_s
        entries = [Presence.from_json(v) for v in self.client.hgetall(key).values()]
        stale = [e.connection for e in entries if e.seen < oldest]
        if stale:
            self.client.hdel(key, *stale)
        return sorted((e for e in entries if e.seen >= oldest), key=lambda e: e.connection)


class MemoryPresenceStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._projects: dict[int, dict[str, Presence]] = {}

    def touch(self, project_id: int, entry: Presence) -> None:
        with self._lock:
            self._projects.setdefault(project_id, {})[entry.connection] = replace(entry, seen=time.time())

    def leave(self, project_id: int, connection: str) -> None:
        with self._lock:
            entries = self._projects.get(project_id, {})
            entries.pop(connection, None)
            if not entries:
                self._projects.pop(project_id, None)

    def of_project(self, project_id: int, ttl_s: float) -> list[Presence]:
        oldest = time.time() - ttl_s
        with self._lock:
            entries = self._projects.get(project_id, {})
            for connection in [c for c, e in entries.items() if e.seen < oldest]:
                del entries[connection]
            return sorted(entries.values(), key=lambda e: e.connection)


_memory = MemoryPresenceStore()


@lru_cache(maxsize=8)
def _redis_store(url: str) -> RedisPresenceStore:
    return RedisPresenceStore(url)


def presence_store() -> PresenceStore:
    """Redis in team mode (REDIS_URL set), this process's memory in the embedded default."""
    return _redis_store(settings.REDIS_URL) if settings.REDIS_URL else _memory
