"""Real server processes (bin/serve) sharing real Redis, driven by a real `websockets` client."""

import asyncio
import json
import signal
import socket
import urllib.request
import uuid

import pytest
import websockets

from tests.fixtures import (
    PROJECT_DIR,
    IdleSocket,
    close_code,
    figure,
    free_port,
    idle_socket,
    next_frame_of,
    scrape,
    start_server,
    stop_server,
    wait_until,
)
from tests.fixtures import (
    live_connect as connect,
)

pytestmark = pytest.mark.live

# redis-py 8 times sockets out after 5 s: a socket idle for longer than that on real Redis
# shows whether the channel layer's subscription connection is configured for quiet rooms.
REDIS_IDLE_SECONDS = 6.5
# Messages of 12 KB posted while one member of the room does not read: 7 MB, more than the
# kernel's buffers on loopback (up to 4 MiB sent, a few KiB received here) and the backlog
# (WEBSOCKET_SEND_BACKLOG, 50 in these servers) hold.
SLOW_READER_MESSAGES = 600


@pytest.fixture(scope="session")
def redis_idle_socket(servers, live_users) -> IdleSocket:
    """A socket on a server, quiet from the first live test until the last test of the run."""
    return idle_socket(
        lambda: connect(servers[1], "/ws/chat/idle-on-redis/", live_users["carol"]),
        REDIS_IDLE_SECONDS,
    )


@pytest.fixture(autouse=True)
def _redis_idle_socket_started(redis_idle_socket: IdleSocket) -> None:
    """Opens the idle socket with the first test here; the last test of the run checks it."""


def test_a_message_sent_through_one_process_reaches_a_client_of_the_other(servers, live_users):
    """It broadcasts across server processes through Redis (the article's closing tip)."""
    alice, bob = live_users["alice"], live_users["bob"]

    async def scenario() -> dict:
        async with (
            connect(servers[0], "/ws/chat/live/", alice) as a,
            connect(servers[1], "/ws/chat/live/", bob) as b,
        ):
            await a.send(json.dumps({"message": "across processes"}))
            return json.loads(await asyncio.wait_for(b.recv(), timeout=30))

    frame = asyncio.run(scenario())
    assert frame["message"] == "across processes"
    assert frame["sender"] == "alice"


# The shared servers are killed at the end of the session; the SIGTERM test starts a server
# of its own.


def stuck_socket(port: int) -> socket.socket:
    """A connected TCP socket with a tiny receive buffer, for a client that stops reading."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    return sock


def test_a_member_that_stops_reading_never_holds_up_its_room(servers, live_users, production_env):
    """The others get every message at once; the slow reader is dropped, not waited for.

    Uvicorn makes a send wait once the socket's write buffer is full: the member is then
    closed with 4008 after WEBSOCKET_SEND_BACKLOG frames. Daphne never waits (Twisted
    buffers without bound): core/server.py closes the socket once its send buffer has been
    full for WEBSOCKET_SLOW_READER_SECONDS. Either way it is counted.
    """
    port, room = servers[0], f"/ws/chat/slow-{uuid.uuid4().hex[:8]}/"
    alice, bob, carol = (live_users[name] for name in ("alice", "bob", "carol"))
    body = "€" * 3990  # 3 bytes each in UTF-8
    uvicorn = "uvicorn" in (PROJECT_DIR / "bin" / "serve").read_text()

    def figures() -> tuple[float, float]:
        found = scrape(port, production_env)
        return (
            figure(found, "limits_hit_total", limit="slow_reader"),
            figure(found, "messages_dropped_total", reason="slow_reader"),
        )

    async def read_all(client: websockets.ClientConnection) -> list[int]:
        numbers = []
        while len(numbers) < SLOW_READER_MESSAGES:
            frame = json.loads(await client.recv())
            numbers.append(int(frame["message"].split()[0]))
        return numbers

    async def scenario() -> tuple[list[int], list[int], int | None, list[int]]:
        stuck = await connect(port, room, carol, sock=stuck_socket(port), max_queue=1)
        async with connect(port, room, alice) as poster, connect(port, room, bob) as reader:
            readers = [asyncio.create_task(read_all(c)) for c in (poster, reader)]
            for n in range(SLOW_READER_MESSAGES):
                await poster.send(json.dumps({"message": f"{n} {body}"}))
            got_poster, got_reader = await asyncio.wait_for(asyncio.gather(*readers), 60)
            # The server finds the slow reader (at once, or once its patience is up);
            # what the room says next no longer goes to it.
            await asyncio.to_thread(
                wait_until, lambda: figures()[0] > closed_before, what="the slow reader's close"
            )
            await poster.send(json.dumps({"message": f"{SLOW_READER_MESSAGES} after"}))
            for client in (poster, reader):
                await next_frame_of(client, "chat.message", 30)
        # Only now does the slow reader read what it was sent.
        numbers, code = [], None
        try:
            while True:
                frame = json.loads(await asyncio.wait_for(stuck.recv(), 30))
                numbers.append(int(frame["message"].split()[0]))
        except websockets.ConnectionClosed as error:
            code = close_code(error)
        await stuck.close()
        return got_poster, got_reader, code, numbers

    closed_before, dropped_before = figures()
    got_poster, got_reader, code, numbers = asyncio.run(scenario())
    assert got_poster == got_reader == list(range(SLOW_READER_MESSAGES))
    assert SLOW_READER_MESSAGES not in numbers
    if uvicorn:
        assert code == 4008
        assert len(numbers) < SLOW_READER_MESSAGES
        # What it did not get is counted (the frames of its backlog, and those after).
        assert figures()[1] > dropped_before
    else:
        # What Twisted had buffered, then the close (or nothing, when the client did not
        # answer the close in time and the server dropped the connection).
        assert code in (4008, None)


def test_the_production_server_drops_frames_over_its_limit(servers, live_users):
    """It closes a socket that sends a frame over its limit (1 MiB here, far past it) with
    1009; the room hears nothing of it. tests/test_limits.py checks the limit itself."""
    alice, bob = live_users["alice"], live_users["bob"]

    async def scenario() -> int | None:
        async with connect(servers[1], "/ws/chat/big/", bob) as listener:
            sender = await connect(servers[1], "/ws/chat/big/", alice)
            # The server may close while the frame is still being sent, or right after.
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await sender.send(json.dumps({"message": "x" * (1024 * 1024 + 1)}))
                await asyncio.wait_for(sender.recv(), timeout=30)
            async with connect(servers[1], "/ws/chat/big/", alice) as again:
                await again.send(json.dumps({"message": "small"}))
                # Frames of a room arrive in order: nothing of the big one came before.
                frame = json.loads(await asyncio.wait_for(listener.recv(), 30))
                assert frame["message"] == "small"
            return close_code(closed.value)

    # 1009 (message too big); or, when the server drops the connection while the client is
    # still sending (Daphne does), no close frame reaches the client at all.
    assert asyncio.run(scenario()) in (1009, None)


def test_a_client_without_credentials_sees_4001_from_the_real_server(servers):
    """It accepts, then closes with 4001, so a real client learns why (not a bare 403)."""

    async def scenario() -> int | None:
        async with websockets.connect(
            f"ws://127.0.0.1:{servers[1]}/ws/chat/lobby/", origin=f"http://127.0.0.1:{servers[1]}"
        ) as socket:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), timeout=30)
            return close_code(closed.value)

    assert asyncio.run(scenario()) == 4001


def test_a_foreign_origin_is_refused_by_the_real_server(servers, live_users):
    """It refuses the handshake from a foreign page on a real server (HTTP 403)."""
    alice = live_users["alice"]

    async def scenario() -> None:
        async with websockets.connect(
            f"ws://127.0.0.1:{servers[0]}/ws/chat/lobby/",
            origin="http://evil.example",
            additional_headers=alice.headers,
            subprotocols=alice.subprotocols or None,
        ):
            pass

    with pytest.raises(websockets.InvalidStatus) as refused:
        asyncio.run(scenario())
    assert refused.value.response.status_code == 403


def test_healthz_reports_the_database_and_redis(servers):
    """GET /healthz on the production server answers 200 with both checks ok."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{servers[0]}/healthz", headers={"X-Forwarded-Proto": "https"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.loads(response.read())
    assert body == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_credentials_never_reach_the_server_logs(servers, live_users, server_log):
    """It writes no credential to the server's logs, even one sent in the query string."""
    alice = live_users["alice"]

    async def scenario() -> None:
        async with connect(servers[1], f"/ws/chat/logs/?token={alice.secret}", alice) as socket:
            await socket.send(json.dumps({"message": "logged?"}))
            await asyncio.wait_for(socket.recv(), timeout=30)
        # A refused credential, alone in the query string.
        async with websockets.connect(
            f"ws://127.0.0.1:{servers[1]}/ws/chat/logs/?token={alice.secret}x",
            origin=f"http://127.0.0.1:{servers[1]}",
        ) as refused:
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(refused.recv(), timeout=30)

    asyncio.run(scenario())
    # Both sockets were opened (the application logs each), so their handshakes are logged.
    logged = wait_until(
        lambda: (
            (text := server_log.read_text(errors="replace")).count("socket opened /ws/chat/logs/")
            >= 2
            and text
        ),
        what="the servers logged both sockets",
    )
    assert alice.secret not in logged


def test_sigterm_tells_connected_clients_to_reconnect(production_env, live_users, server_log):
    """On SIGTERM the server closes open sockets with 1012 (restart: reconnect), then exits."""
    port = free_port()
    # A server of its own: the shared ones may hold consumers that never ended (see above),
    # which Uvicorn's graceful shutdown waits 10 s for.
    with server_log.open("ab") as log:
        process = start_server(production_env, port, log)

    async def scenario() -> int | None:
        async with connect(port, "/ws/chat/sigterm/", live_users["alice"]) as socket:
            await socket.send(json.dumps({"message": "before the restart"}))
            await asyncio.wait_for(socket.recv(), timeout=30)
            process.terminate()
            with pytest.raises(websockets.ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(socket.recv(), timeout=30)
            return close_code(closed.value)

    try:
        code = asyncio.run(scenario())
    finally:
        stop_server(process)
    assert code == 1012
    # Daphne exits 0; Uvicorn re-raises the signal once it has shut down cleanly.
    assert process.returncode in (0, -signal.SIGTERM)


def test_the_server_negotiates_no_compression(servers, live_users):
    """It accepts a client that offers per-message deflate without enabling it."""
    alice = live_users["alice"]

    async def scenario() -> str | None:
        async with connect(servers[0], "/ws/notifications/", alice) as socket:
            return socket.response.headers.get("Sec-WebSocket-Extensions")

    assert asyncio.run(scenario()) is None


@pytest.mark.run_last
def test_a_socket_idle_past_the_redis_socket_timeout_still_receives(redis_idle_socket):
    """A socket quiet for longer than redis-py's 5 s default timeout still gets messages."""
    assert redis_idle_socket.result()["message"] == "still here"
