"""The limits' own parts: the token bucket, and the per-user stores in memory and Redis."""

import asyncio

import pytest

from tests.fixtures import metric

from .. import limits
from ..limits import MemoryUserLimits, RedisUserLimits, TokenBucket, fail_open


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(limits.time, "monotonic", clock)
    return clock


def test_a_bucket_gives_its_burst_then_one_token_per_interval(clock):
    bucket = TokenBucket(rate=2, burst=3)
    assert [bucket.take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take() == pytest.approx(0.5)
    clock.now += 0.25
    assert bucket.take() == pytest.approx(0.25)  # half a token back; half to go
    clock.now += 0.25
    assert bucket.take() == 0.0
    clock.now += 60
    # Idle time fills it up to its burst, never past it.
    assert [bucket.take() for _ in range(4)].count(0.0) == 3


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        return MemoryUserLimits()
    return RedisUserLimits(request.getfixturevalue("redis_layer"))


async def test_a_users_rate_counts_every_caller(store):
    """Sockets of one user draw on one bucket; another user has a bucket of their own."""
    takes = await asyncio.gather(*(store.take(7, 1, 3) for _ in range(5)))
    assert sum(wait == 0 for wait in takes) == 3
    assert all(0 < wait <= 1 for wait in takes if wait)
    assert await store.take(8, 1, 3) == 0


async def test_a_users_sockets_are_capped_until_one_closes(store):
    opened = [await store.socket_opened(7, f"socket-{n}", 2) for n in range(3)]
    assert opened == [True, True, False]
    assert await store.socket_opened(8, "another user's", 2)
    await store.socket_closed(7, "socket-0")
    assert await store.socket_opened(7, "socket-2", 2)
    await store.socket_renewed(7, "socket-2")
    assert not await store.socket_opened(7, "socket-3", 2)


async def test_a_socket_of_a_dead_process_lapses_from_the_count(redis_layer, monkeypatch):
    """Entries not renewed within SOCKET_ENTRY_TTL leave the count (a process was killed)."""
    monkeypatch.setattr(limits, "SOCKET_ENTRY_TTL", 0.2)
    store = RedisUserLimits(redis_layer)
    assert await store.socket_opened(9, "of a dead process", 1)
    assert not await store.socket_opened(9, "new", 1)
    async with asyncio.timeout(10):
        while not await store.socket_opened(9, "new", 1):  # noqa: ASYNC110 (polls Redis)
            await asyncio.sleep(0.05)


async def test_a_check_redis_cannot_answer_lets_the_client_through(redis_away):
    store = RedisUserLimits(redis_away)
    before = metric("redis_errors_total", component="limits")
    assert await fail_open("a test", store.take(7, 1, 1), 0.0) == 0.0
    assert await fail_open("a test", store.socket_opened(7, "s", 1), True) is True
    assert metric("redis_errors_total", component="limits") == before + 2
