"""The presence store, both kinds: one entry per connection, refreshed by touches, gone on leave or when stale."""

from backend.collab.presence import Presence, RedisPresenceStore
from tests.live_stack import TEST_REDIS_URL
from tests.waiting import wait_until


def entry(connection: str, user_id: int, image_id: int | None = None) -> Presence:
    return Presence(connection=connection, user_id=user_id, name=f"user{user_id}", role="annotator", image_id=image_id)


def who(entries: list[Presence]) -> list[tuple[str, int, int | None]]:
    return [(e.connection, e.user_id, e.image_id) for e in entries]


def test_entries_per_connection_per_project(presence_store) -> None:
    presence_store.touch(1, entry("c1", 7, image_id=5))
    presence_store.touch(1, entry("c2", 7))
    presence_store.touch(1, entry("c3", 8, image_id=5))
    presence_store.touch(2, entry("c4", 9))
    assert who(presence_store.of_project(1, 30)) == [("c1", 7, 5), ("c2", 7, None), ("c3", 8, 5)]
    assert who(presence_store.of_project(2, 30)) == [("c4", 9, None)]
    presence_store.touch(1, entry("c1", 7, image_id=6))  # the same connection again: replaced, not added
    presence_store.leave(1, "c3")
    presence_store.leave(1, "unknown")
    assert who(presence_store.of_project(1, 30)) == [("c1", 7, 6), ("c2", 7, None)]
    assert all(e.seen > 0 for e in presence_store.of_project(1, 30))


def test_an_entry_not_refreshed_goes_stale_and_is_dropped(presence_store) -> None:
    presence_store.touch(1, entry("old", 7))
    first_seen = presence_store.of_project(1, 30)[0].seen
    presence_store.touch(1, entry("fresh", 8))

    def only_fresh_left() -> bool:
        presence_store.touch(1, entry("fresh", 8))  # its heartbeats
        return who(presence_store.of_project(1, 0.3)) == [("fresh", 8, None)]

    wait_until(only_fresh_left, timeout=10, what="the entry without heartbeats to go stale")
    assert who(presence_store.of_project(1, 3600)) == [("fresh", 8, None)]  # dropped for good, not only hidden
    assert presence_store.of_project(1, 3600)[0].seen > first_seen


def test_redis_keeps_one_hash_per_project(redis_prefix) -> None:
    presence_store = RedisPresenceStore(TEST_REDIS_URL, prefix=redis_prefix)
    presence_store.touch(3, entry("c1", 7))
    presence_store.touch(3, entry("c2", 8))
    key = presence_store._key(3)
    assert presence_store.client.hlen(key) == 2 and presence_store.client.ttl(key) > 0
    presence_store.leave(3, "c1")
    assert presence_store.client.hkeys(key) == [b"c2"]
