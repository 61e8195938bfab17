"""The shipped client limits and the metrics, on two real server processes of the module's own.

The live servers run without client limits (their tests post as fast as they can); these
run with the defaults of config/settings.py, on a Redis database of their own, and sum
their metrics in a directory of their own.
"""

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import redis
import websockets

from tests.auth import Login
from tests.fixtures import (
    PROJECT_DIR,
    Production,
    close_code,
    figure,
    next_frame_of,
    scrape,
    server_cluster,
    wait_until,
)
from tests.fixtures import live_connect as connect
from tests.processes import CLIENT_LIMITS_OFF

pytestmark = pytest.mark.live

# The shipped defaults (config/settings.py), which these servers run with.
SOCKET_RATE, SOCKET_BURST = 10, 20
USER_MAX_SOCKETS = 20
FRAME_MAX_BYTES = 12 * 4000 + 1024
FLOOD = 3000
DAPHNE = "exec daphne" in (PROJECT_DIR / "bin" / "serve").read_text()


@dataclass
class Limited:
    ports: list[int]
    env: dict[str, str]
    logins: dict[str, Login]

    def figures(self) -> dict:
        return scrape(self.ports[0], self.env)


@pytest.fixture(scope="module")
def limited(
    production: Production, live_users, redis_server, tmp_path_factory
) -> Iterator[Limited]:
    tmp = tmp_path_factory.mktemp("limits")
    env = {k: v for k, v in production.env.items() if k not in CLIENT_LIMITS_OFF}
    url = f"{redis_server}/2"
    redis.Redis.from_url(url).flushdb()  # no counts of an earlier run (TEST_REDIS_URL)
    env |= {
        "REDIS_URL": url,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "metrics"),
        "METRICS_TOKEN": secrets.token_urlsafe(24),
    }
    with server_cluster(env, tmp / "servers.log") as processes:
        yield Limited(list(processes), env, live_users)


async def frames_until_closed(socket) -> tuple[list[dict], int | None]:
    """Every frame a socket receives until the server closes it, and the close code."""
    frames = []
    try:
        async with asyncio.timeout(60):
            async for text in socket:
                frames.append(json.loads(text))
    except websockets.ConnectionClosed as error:
        return frames, close_code(error)
    return frames, socket.close_code


def test_a_flood_is_told_then_closed_and_bystanders_never_notice(limited):
    """One client posts 3000 messages as fast as it can: it is closed with 4029, after
    rate_limited frames with retry_after (or at once, when its unread frames pile up past
    WEBSOCKET_RECEIVE_BACKLOG first, as Daphne's queue lets them); its room receives at
    most the burst; another room's members, on the other process, get each of their
    messages at once throughout."""
    alice, bob, carol = (limited.logins[name] for name in ("alice", "bob", "carol"))
    one, other = limited.ports
    before = limited.figures()

    async def scenario() -> tuple[list[dict], int | None, list[str], list[str], float]:
        async with (
            connect(other, "/ws/chat/flooded/", bob) as member,
            connect(other, "/ws/chat/calm/", carol) as calm_poster,
            connect(one, "/ws/chat/calm/", bob) as calm_reader,
        ):
            flooder = await connect(one, "/ws/chat/flooded/", alice)
            started = time.monotonic()
            closed = asyncio.create_task(frames_until_closed(flooder))

            async def flood() -> None:
                # The server closes it mid-flood, as it should.
                with contextlib.suppress(websockets.ConnectionClosed):
                    for n in range(FLOOD):
                        await flooder.send(json.dumps({"message": f"flood {n}"}))

            async def converse() -> list[str]:
                """The quiet room's exchange, during the flood: each message comes back."""
                heard = []
                for n in range(5):
                    await calm_poster.send(json.dumps({"message": f"calm {n}"}))
                    frame = await next_frame_of(calm_reader, "chat.message", 30)
                    heard.append(frame["message"])
                return heard

            _, heard = await asyncio.gather(flood(), converse())
            frames, code = await closed
            # The server stopped reading the flood before the client saw its close.
            flooded_for = time.monotonic() - started
            # Everything the flood got into the room, up to a frame posted after it.
            await flooder.close()
            async with connect(one, "/ws/chat/flooded/", carol) as marker:
                await marker.send(json.dumps({"message": "after the flood"}))
            seen = []
            while (text := json.loads(await asyncio.wait_for(member.recv(), 30))).get(
                "message"
            ) != "after the flood":
                seen.append(text.get("message"))
            return frames, code, seen, heard, flooded_for

    frames, code, seen, heard, flooded_for = asyncio.run(scenario())
    # The server closed it with 4029 (its own count says so, below). The client hears it
    # unless Daphne lets the connection go with the flood still unread: the kernel then
    # resets it, and the client's kernel drops the close frame it had received.
    assert code == 4029 or (DAPHNE and code is None), code
    errors = [frame for frame in frames if frame["type"] == "error"]
    assert {e["code"] for e in errors} <= {"rate_limited"}
    assert all(e["retry_after"] > 0 for e in errors)
    # Strikes count refusals in a row: a token that comes back in between (a loaded
    # server reads the flood slowly) starts them again. Either way, the server stopped
    # answering long before the flood's end.
    assert len(errors) + len(seen) < FLOOD / 10
    # At most the burst, and the tokens that came back while the flood was read (none
    # at all when the backlog closed it at its first frame): a loaded server reads it
    # slowly, so that is a bound in time, not a count.
    assert len(seen) <= SOCKET_BURST + SOCKET_RATE * flooded_for, flooded_for
    assert heard == [f"calm {n}" for n in range(5)]
    after = limited.figures()
    hits = [
        figure(figures, "limits_hit_total", limit=limit)
        for figures in (before, after)
        for limit in ("messages", "receive_backlog")
    ]
    assert sum(hits[2:]) > sum(hits[:2])
    closed_before = figure(before, "socket_closes_total", route="chat", code="4029")
    # Counted when the server's side of the socket has ended, just after the close frame.
    wait_until(
        lambda: (
            figure(limited.figures(), "socket_closes_total", route="chat", code="4029")
            == closed_before + 1
        ),
        what="the 4029 close in /metrics",
    )


def test_a_users_socket_cap_holds_across_processes(limited):
    """USER_MAX_SOCKETS sockets on two processes together, then 4009 on either; a socket
    closed on one process makes room on the other."""
    carol = limited.logins["carol"]
    one, other = limited.ports

    async def refused_with(port: int) -> int | None:
        """The code a new socket is refused with, or None once it is accepted."""
        async with connect(port, "/ws/notifications/", carol) as extra:
            try:
                # A notification socket answers a frame with an error; a refused one is
                # closed before it reads it.
                await extra.send("{}")
                await asyncio.wait_for(extra.recv(), 30)
            except websockets.ConnectionClosed as error:
                return close_code(error)
        return None

    async def scenario() -> tuple[list[int | None], bool]:
        sockets = [
            await connect(limited.ports[n % 2], "/ws/notifications/", carol)
            for n in range(USER_MAX_SOCKETS)
        ]
        try:
            codes = [await refused_with(one), await refused_with(other)]
            await sockets[0].close()  # on `one`
            async with asyncio.timeout(30):
                while (code := await refused_with(other)) == 4009:
                    pass
            return codes, code is None
        finally:
            await asyncio.gather(*(socket.close() for socket in sockets))

    codes, room_made = asyncio.run(scenario())
    assert codes == [4009, 4009]
    assert room_made


def test_the_metrics_endpoint_sums_the_processes_as_sockets_come_and_go(limited):
    """Sockets opened on the second process show on the first's /metrics, and leave it."""
    alice = limited.logins["alice"]
    one, other = limited.ports

    def open_sockets() -> float:
        return figure(limited.figures(), "sockets_open", route="chat")

    async def scenario() -> float:
        sockets = [await connect(other, "/ws/chat/counted/", alice) for _ in range(3)]
        sockets.append(await connect(one, "/ws/chat/counted/", alice))
        await sockets[-1].send(json.dumps({"message": "counted"}))
        await asyncio.wait_for(sockets[0].recv(), 30)
        during = await asyncio.to_thread(open_sockets)
        await asyncio.gather(*(socket.close() for socket in sockets))
        return during

    before = limited.figures()
    base = figure(before, "sockets_open", route="chat")
    assert asyncio.run(scenario()) == base + 4
    wait_until(lambda: open_sockets() == base, what="the closed sockets to leave /metrics")
    figures = limited.figures()
    for name, labels in [
        ("socket_handshakes_total", {"route": "chat", "outcome": "accepted", "code": ""}),
        ("socket_frames_received_total", {}),
        ("socket_frames_sent_total", {}),
        ("broadcast_latency_seconds_count", {}),
    ]:
        assert figure(figures, name, **labels) > figure(before, name, **labels), name


def test_a_frame_past_the_longest_valid_one_is_refused_by_the_server(limited):
    """FRAME_MAX_BYTES bytes reach the application (an error frame, the socket open); one
    byte more and the server closes with 1009 (or, Daphne, drops the connection)."""
    alice = limited.logins["alice"]

    def frame_of(size: int) -> str:
        frame = json.dumps({"message": ""})
        return json.dumps({"message": "x" * (size - len(frame))})

    async def scenario() -> tuple[dict, int | None]:
        async with connect(limited.ports[0], "/ws/chat/sizes/", alice) as socket:
            await socket.send(frame_of(FRAME_MAX_BYTES))
            answer = json.loads(await asyncio.wait_for(socket.recv(), 30))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await socket.send(frame_of(FRAME_MAX_BYTES + 1))
                await asyncio.wait_for(socket.recv(), 30)
            return answer, close_code(closed.value)

    answer, code = asyncio.run(scenario())
    assert answer["type"] == "error"
    assert code in (1009, None)
