"""Faults injected into real processes: Redis killed and restarted, a server killed.

The module starts its own Redis and two production servers (bin/serve) on the live
servers' database, so that what it kills is its own; clients are real `websockets`
clients on loopback.
"""

import asyncio
import json
import os
import signal
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import websockets

from tests.auth import Login
from tests.fixtures import Production, RestartableRedis, require_binary, server_cluster
from tests.fixtures import live_connect as connect
from tests.processes import start_redis

pytestmark = pytest.mark.live

# How long Redis stays away in the restart test: at once in the suite; set it to 30 to
# try the outage the project promises to ride out.
OUTAGE_SECONDS = float(os.environ.get("TEST_REDIS_OUTAGE_SECONDS", "0"))


@dataclass
class Cluster:
    """Two server processes on one Redis of the test's own."""

    redis: RestartableRedis
    ports: list[int]
    processes: list
    logins: dict[str, Login]


@pytest.fixture(scope="module")
def cluster(
    production: Production, live_users: dict[str, Login], tmp_path_factory
) -> Iterator[Cluster]:
    """The live servers' database and users, on a Redis and two servers of the module's own.

    One for the module: the Redis test restarts Redis, the last test kills a server.
    """
    tmp_path = tmp_path_factory.mktemp("faults")
    binary = require_binary("redis-server", brew="redis")
    restartable_redis = RestartableRedis(binary, tmp_path, *start_redis(binary, tmp_path))
    env = {**production.env, "REDIS_URL": f"{restartable_redis.url}/0"}
    try:
        with server_cluster(env, tmp_path / "servers.log") as processes:
            yield Cluster(restartable_redis, list(processes), list(processes.values()), live_users)
    finally:
        restartable_redis.stop()


class Reader:
    """Reads one client's frames in the background: chat ids in arrival order, the rest."""

    def __init__(self, socket) -> None:
        self.socket = socket
        self.ids: list[int] = []
        self.others: list[dict] = []
        self.changed = asyncio.Event()
        self.task = asyncio.create_task(self.read())

    async def read(self) -> None:
        async for text in self.socket:
            frame = json.loads(text)
            if frame.get("type") == "chat.message":
                self.ids.append(frame["id"])
            else:
                self.others.append(frame)
            self.changed.set()

    async def until(self, condition) -> None:
        """Waits up to 30 s for ``condition`` of what was read."""
        async with asyncio.timeout(30):
            while not condition():
                self.changed.clear()
                await self.changed.wait()


async def post(socket, text: str) -> None:
    await socket.send(json.dumps({"message": text}))


def test_a_redis_restart_closes_no_socket_and_loses_no_message(cluster):
    """Redis SIGKILLed and started again (empty) while two processes' clients chat: the
    sockets stay open, posts made meanwhile are stored, and every client then has every
    message exactly once, in order."""
    alice, bob = cluster.logins["alice"], cluster.logins["bob"]

    async def scenario() -> tuple[Reader, Reader]:
        async with (
            # presence=1: where presence is on, alice also watches who is here.
            connect(cluster.ports[0], "/ws/chat/fault/?last_id=0&presence=1", alice) as a,
            connect(cluster.ports[1], "/ws/chat/fault/", bob) as b,
        ):
            readers = Reader(a), Reader(b)
            for i in range(1, 4):
                await post(a, f"before {i}")
            for reader in readers:
                await reader.until(lambda r=reader: len(r.ids) == 3)
            cluster.redis.stop()
            await post(a, "while away, from alice")
            await post(b, "while away, from bob")
            for reader in readers:
                await reader.until(
                    lambda r=reader: any(f.get("code") == "delayed" for f in r.others)
                )
            await asyncio.sleep(OUTAGE_SECONDS)  # the outage itself, not a wait for a state
            cluster.redis.start()
            for reader in readers:
                await reader.until(lambda r=reader: len(r.ids) >= 5)
            await post(b, "after")
            for reader in readers:
                await reader.until(lambda r=reader: len(r.ids) >= 6)
            # Anything sent twice would have arrived by now, behind "after".
            await post(a, "last")
            for reader in readers:
                await reader.until(lambda r=reader: 7 in r.ids)
            for reader in readers:
                reader.task.cancel()
            return readers

    a, b = asyncio.run(scenario())
    assert a.ids == b.ids == [1, 2, 3, 4, 5, 6, 7]
    recoveries = [f for f in a.others if f["type"] == "chat.recovery"]
    assert recoveries[-1] == {"type": "chat.recovery", "recovered": True, "count": 2}
    assert not [f for f in b.others if f["type"] == "chat.recovery"]  # the article's client
    # Nobody was shown leaving because Redis was away (where presence is on).
    assert not [f for f in a.others if f["type"] == "presence.diff" and f["leaves"]]


def test_clients_of_a_killed_server_resume_on_the_other_without_a_gap(cluster):
    """A server SIGKILLed: its client reconnects to the other with its last id and gets
    exactly what was posted meanwhile, then live messages. (Last in this module: it kills
    a server of the cluster.)"""
    alice, bob = cluster.logins["alice"], cluster.logins["bob"]

    async def scenario() -> tuple[list[dict], list[int]]:
        async with connect(cluster.ports[1], "/ws/chat/failover/", bob) as b:
            reader = Reader(b)
            async with connect(cluster.ports[0], "/ws/chat/failover/", alice) as a:
                await post(a, "one")
                await post(a, "two")
                seen = [json.loads(await a.recv())["id"] for _ in range(2)]
                os.killpg(cluster.processes[0].pid, signal.SIGKILL)
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(a.recv(), 30)
            for i in range(3):
                await post(b, f"while alice is away {i}")
            await reader.until(lambda: len(reader.ids) == 5)
            path = f"/ws/chat/failover/?last_id={seen[-1]}"
            async with connect(cluster.ports[1], path, alice) as again:
                frames = [json.loads(await again.recv()) for _ in range(4)]
                await post(b, "live")
                frames.append(json.loads(await again.recv()))
            reader.task.cancel()
            return frames, seen

    frames, seen = asyncio.run(scenario())
    assert seen == [1, 2]
    assert frames[0] == {"type": "chat.recovery", "recovered": True, "count": 3}
    assert [f["id"] for f in frames[1:]] == [3, 4, 5, 6]
