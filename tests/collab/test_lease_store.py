"""The lease store, both kinds (memory: the embedded default; Redis: team mode, a real server): one holder per
object, renewal and release only by the holding connection, expiry, breaking, the per-image list."""

from backend.collab.leases import Lease, RedisLeaseStore
from tests.live_stack import TEST_REDIS_URL
from tests.waiting import wait_until


def lease(object_id: int, holder: str, user_id: int = 1, image_id: int = 10) -> Lease:
    return Lease(object_id=object_id, image_id=image_id, holder=holder, user_id=user_id, name=f"user{user_id}")


def test_one_holder_per_object_the_others_learn_who(lease_store) -> None:
    mine, theirs = lease(1, "conn-a", user_id=1), lease(1, "conn-b", user_id=2)
    assert lease_store.take(mine, 30) == mine
    assert lease_store.take(theirs, 30) == mine  # refused: the holder's lease comes back
    assert lease_store.take(lease(1, "conn-a2", user_id=1), 30) == mine  # same user, another tab: refused too
    assert lease_store.take(mine, 30) == mine  # the holder again: renewed
    assert lease_store.get(1) == mine
    assert lease_store.get(2) is None


def test_only_the_holder_renews_or_releases(lease_store) -> None:
    mine = lease(1, "conn-a")
    lease_store.take(mine, 30)
    assert not lease_store.renew(1, "conn-b", 30)
    assert not lease_store.release(1, "conn-b")
    assert lease_store.get(1) == mine
    assert lease_store.renew(1, "conn-a", 30)
    assert lease_store.release(1, "conn-a")
    assert lease_store.get(1) is None
    assert not lease_store.release(1, "conn-a")  # twice: nothing to release
    assert not lease_store.renew(1, "conn-a", 30)  # a released lease is not brought back by a heartbeat
    other = lease(1, "conn-b", user_id=2)
    assert lease_store.take(other, 30) == other


def test_a_lease_not_renewed_expires_and_the_object_is_free_again(lease_store) -> None:
    lease_store.take(lease(1, "conn-a"), 0.2)
    lease_store.take(lease(2, "conn-a"), 30)
    wait_until(lambda: lease_store.get(1) is None, timeout=10, what="the lease to expire")
    assert [x.object_id for x in lease_store.of_image(10)] == [2]
    other = lease(1, "conn-b", user_id=2)
    assert lease_store.take(other, 30) == other


def test_renewing_keeps_it_past_its_first_ttl(lease_store) -> None:
    lease_store.take(lease(1, "conn-a"), 0.5)
    lease_store.take(lease(2, "conn-a"), 0.5)  # the clock: expires when 1 would have without renewals
    wait_until(
        lambda: lease_store.renew(1, "conn-a", 0.5) and lease_store.get(2) is None,
        timeout=10,
        what="the unrenewed lease to expire",
        every=0.05,
    )
    assert lease_store.get(1) is not None


def test_breaking_removes_it_whoever_holds_it(lease_store) -> None:
    theirs = lease(1, "conn-b", user_id=2)
    lease_store.take(theirs, 30)
    assert lease_store.remove(1) == theirs
    assert lease_store.remove(1) is None
    assert lease_store.get(1) is None
    assert not lease_store.renew(1, "conn-b", 30)


def test_the_leases_of_an_image(lease_store) -> None:
    a, b, elsewhere = lease(3, "conn-a"), lease(1, "conn-b", user_id=2), lease(2, "conn-c", image_id=11)
    for each in (a, b, elsewhere):
        lease_store.take(each, 30)
    assert lease_store.of_image(10) == [b, a]  # by object id
    assert lease_store.of_image(11) == [elsewhere]
    lease_store.release(1, "conn-b")
    assert lease_store.of_image(10) == [a]
    assert lease_store.of_image(12) == []


def test_redis_drops_expired_members_of_the_image_index(redis_prefix) -> None:
    lease_store = RedisLeaseStore(TEST_REDIS_URL, prefix=redis_prefix)
    lease_store.take(lease(1, "conn-a"), 0.1)
    lease_store.take(lease(2, "conn-a"), 30)
    index = lease_store._index(10)
    assert lease_store.client.smembers(index) == {b"1", b"2"}
    wait_until(lambda: not lease_store.client.exists(lease_store._key(1)), timeout=10, what="the key to expire")
    assert [x.object_id for x in lease_store.of_image(10)] == [2]
    assert lease_store.client.smembers(index) == {b"2"}
    assert 0 < lease_store.client.pttl(lease_store._key(2)) <= 30_000
