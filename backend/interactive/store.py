"""Where click-session state lives between clicks.

Team mode: Redis, so any worker can serve the next click and a worker crash loses nothing. Each write carries
a version and only a newer version replaces what is stored (compare-and-set in a Lua script).
Embedded mode: nothing leaves the process; the worker's session cache is the state.
"""

from typing import Protocol

import redis
from django.conf import settings

STATE_TTL_SECONDS = 6 * 3600

_CAS_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
  redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
"""


class StateStore(Protocol):
    persistent: bool  # False: nothing is written, so callers need not encode the state

    def version(self, session_id: str) -> int: ...
    def load(self, session_id: str) -> tuple[int, bytes] | None: ...
    def save(self, session_id: str, version: int, blob: bytes) -> bool: ...
    def delete(self, session_id: str) -> None: ...


class RedisStateStore:
    persistent = True

    def __init__(self, url: str, ttl: int = STATE_TTL_SECONDS) -> None:
        self.client = redis.Redis.from_url(url)
        self.ttl = ttl
        self._cas = self.client.register_script(_CAS_SCRIPT)

    @staticmethod
    def _keys(session_id: str) -> tuple[str, str]:
        return f"edgeflow:click:{session_id}:version", f"edgeflow:click:{session_id}:state"

    def version(self, session_id: str) -> int:
        value = self.client.get(self._keys(session_id)[0])
        return int(value) if value else 0

    def load(self, session_id: str) -> tuple[int, bytes] | None:
        version, blob = self.client.mget(self._keys(session_id))
        if not version or blob is None:
            return None
        return int(version), blob

    def save(self, session_id: str, version: int, blob: bytes) -> bool:
        return bool(self._cas(keys=list(self._keys(session_id)), args=[version, blob, self.ttl]))

    def delete(self, session_id: str) -> None:
        self.client.delete(*self._keys(session_id))


class ProcessStateStore:
    """Embedded mode: the in-process session cache is authoritative; this only tracks versions."""

    persistent = False

    def __init__(self) -> None:
        self._versions: dict[str, int] = {}

    def version(self, session_id: str) -> int:
        return self._versions.get(session_id, 0)

    def load(self, session_id: str) -> tuple[int, bytes] | None:
        return None

    def save(self, session_id: str, version: int, blob: bytes) -> bool:
        self._versions[session_id] = max(version, self._versions.get(session_id, 0))
        return True

    def delete(self, session_id: str) -> None:
        self._versions.pop(session_id, None)


_store: StateStore | None = None


def state_store() -> StateStore:
    """This process's store: Redis when ``REDIS_URL`` is set (team mode), else the process itself."""
    global _store
    if _store is None:
        _store = RedisStateStore(settings.REDIS_URL) if settings.REDIS_URL else ProcessStateStore()
    return _store
