"""Batcher: concurrent lookups share trips to the database thread, never stale results."""

import asyncio
import itertools
import threading

import pytest

from ..batching import Batcher

# Trips run in the sockets' database thread, which tidies its connection before each one.
pytestmark = pytest.mark.django_db


class Loads:
    """A load_many that records each trip and numbers the values it hands out."""

    def __init__(self) -> None:
        self.trips: list[set[str]] = []
        self.count = itertools.count()
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail_next = False

    def __call__(self, keys: dict[str, object]) -> dict[str, tuple[str, int]]:
        self.entered.set()
        self.gate.wait(5)
        self.trips.append(set(keys))
        if self.fail_next:
            self.fail_next = False
            raise RuntimeError("database gone")
        return {key: (key, next(self.count)) for key in keys if key != "missing"}


async def test_concurrent_lookups_go_in_one_trip_and_each_key_is_loaded_once():
    loads = Loads()
    batcher = Batcher(loads)
    keys = [f"room-{n % 5}" for n in range(50)]
    values = await asyncio.gather(*(batcher.load(key) for key in keys))
    assert loads.trips == [{f"room-{n}" for n in range(5)}]
    assert [value[0] for value in values] == keys
    # Askers of one key share its value.
    assert len({value for value in values}) == 5


async def test_a_key_asked_while_its_trip_is_on_its_way_waits_for_the_next():
    """So a socket never gets a value read before it asked (before its own join)."""
    loads = Loads()
    batcher = Batcher(loads)
    loads.gate.clear()
    first = asyncio.create_task(batcher.load("room"))
    assert await asyncio.to_thread(loads.entered.wait, 5)  # the first trip is on its way
    second = asyncio.create_task(batcher.load("room"))
    await asyncio.sleep(0)
    loads.gate.set()
    assert (await first)[1] != (await second)[1]
    assert loads.trips == [{"room"}, {"room"}]


async def test_a_failed_trip_fails_its_askers_and_the_next_one_works():
    loads = Loads()
    batcher = Batcher(loads)
    loads.fail_next = True
    with pytest.raises(RuntimeError, match="database gone"):
        await batcher.load("room")
    assert (await batcher.load("room"))[0] == "room"


async def test_a_key_left_out_by_load_many_is_an_error_not_a_hang():
    batcher = Batcher(Loads())
    with pytest.raises(LookupError):
        await asyncio.wait_for(batcher.load("missing"), 5)
