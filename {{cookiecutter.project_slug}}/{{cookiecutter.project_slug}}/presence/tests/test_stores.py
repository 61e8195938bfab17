"""The presence stores: one entry per connection, a user per first and last connection."""

import time

import pytest
import redis

from ..stores import MemoryPresenceStore, RedisPresenceStore

ALICE = {"id": 1, "username": "alice", "since": "2026-01-01T00:00:00Z"}
BOB = {"id": 2, "username": "bob", "since": "2026-01-01T00:00:01Z"}


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest):
    if request.param == "memory":
        return MemoryPresenceStore()
    url = request.getfixturevalue("redis_url")
    redis.Redis.from_url(url).flushdb()
    return RedisPresenceStore([url], ttl=30)


async def test_a_user_joins_with_the_first_connection_and_leaves_after_the_last(store):
    """It reports a join for a user's first connection and a leave after their last only."""
    now = time.time()
    assert await store.join("room", "c1", ALICE, now) is True
    assert await store.join("room", "c2", ALICE, now) is False
    assert await store.leave("room", "c1", 1) is None
    assert await store.members("room") == [ALICE]
    assert await store.leave("room", "c2", 1) == ALICE
    assert await store.members("room") == []


async def test_topics_are_independent(store):
    """It keeps each topic's members apart."""
    now = time.time()
    await store.join("one", "c1", ALICE, now)
    await store.join("two", "c2", BOB, now)
    assert await store.members("one") == [ALICE]
    assert await store.members("two") == [BOB]


async def test_prune_removes_stale_connections_and_reports_users_that_left(store):
    """It prunes connections older than the cutoff; a user with a fresh one stays."""
    now = time.time()
    await store.join("room", "dead-alice", ALICE, now - 100)
    await store.join("room", "live-alice", ALICE, now)
    await store.join("room", "dead-bob", BOB, now - 100)
    assert await store.prune("room", now - 50) == [BOB]
    assert await store.members("room") == [ALICE]
    assert await store.prune("room", now - 50) == []


async def test_a_heartbeat_keeps_an_old_connection_alive(store):
    """It keeps a connection whose heartbeat is fresh, however old the connection is."""
    start = time.time() - 1000
    await store.join("room", "c1", ALICE, start)
    await store.join("room", "c1", ALICE, time.time())  # the refresh task's heartbeat
    assert await store.prune("room", time.time() - 50) == []
    assert await store.members("room") == [ALICE]


async def test_leaving_an_unknown_connection_is_harmless(store):
    """It ignores a leave for a connection it does not know (already pruned)."""
    assert await store.leave("room", "nobody", 1) is None


async def test_redis_keys_expire(redis_url):
    """It gives every Redis key a TTL, so a topic whose processes all died disappears."""
    redis.Redis.from_url(redis_url).flushdb()
    store = RedisPresenceStore([redis_url], ttl=30)
    await store.join("room", "c1", ALICE, time.time())
    client = redis.Redis.from_url(redis_url)
    # One hash tag per topic: its keys share a Redis Cluster slot, as its scripts need.
    keys = client.keys("presence:{room}:*")
    assert len(keys) == 4
    assert all(0 < client.ttl(key) <= 30 for key in keys)


async def test_topics_are_spread_over_several_hosts_the_same_way_by_every_process(
    redis_url, second_redis
):
    """With two hosts each topic lives on one; another process finds it on the same one."""
    for url in (redis_url, second_redis):
        redis.Redis.from_url(url).flushdb()
    here = RedisPresenceStore([redis_url, second_redis], ttl=30)
    there = RedisPresenceStore([redis_url, second_redis], ttl=30)
    topics = [f"room-{n}" for n in range(12)]
    for topic in topics:
        await here.join(topic, "c1", ALICE, time.time())
    for topic in topics:
        assert await there.members(topic) == [ALICE]
    for url in (redis_url, second_redis):
        keys = redis.Redis.from_url(url).keys("presence:*")
        held = {key.decode().split("{")[1].split("}")[0] for key in keys}
        assert 0 < len(held) < len(topics)


async def test_a_sentinel_host_carries_presence(sentinel, second_redis):
    redis.Redis.from_url(second_redis).flushdb()
    store = RedisPresenceStore([sentinel], ttl=30)
    assert await store.join("room", "c1", ALICE, time.time()) is True
    assert await store.members("room") == [ALICE]
    assert redis.Redis.from_url(second_redis).exists("presence:{room}:users")
