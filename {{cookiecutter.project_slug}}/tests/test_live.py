"""Real server processes (bin/serve) sharing real Redis, driven by a real `websockets` client."""

import asyncio
import functools
import json
import signal
import time

import pytest
import websockets

from tests.auth import Login, live_login
from tests.fixtures import free_port, run_manage, start_server, stop_server

pytestmark = pytest.mark.live


def login_as(env: dict[str, str], port: int, name: str) -> Login:
    return live_login(functools.partial(run_manage, env), f"http://127.0.0.1:{port}", name)


def connect(port: int, path: str, login: Login):
    """Connects as a browser page of the site would, with the login's credentials."""
    return websockets.connect(
        f"ws://127.0.0.1:{port}{path}",
        origin=f"http://127.0.0.1:{port}",
        additional_headers=login.headers,
        subprotocols=login.subprotocols or None,
        open_timeout=10,
    )


def test_a_message_sent_through_one_process_reaches_a_client_of_the_other(servers, production_env):
    """It broadcasts across server processes through Redis (the article's closing tip)."""
    alice, bob = (
        login_as(production_env, servers[0], "alice"),
        login_as(production_env, servers[0], "bob"),
    )

    async def scenario() -> dict:
        async with (
            connect(servers[0], "/ws/chat/live/", alice) as a,
            connect(servers[1], "/ws/chat/live/", bob) as b,
        ):
            await a.send(json.dumps({"message": "across processes"}))
            return json.loads(await asyncio.wait_for(b.recv(), timeout=10))

    frame = asyncio.run(scenario())
    assert frame["message"] == "across processes"
    assert frame["sender"] == "alice"


def test_the_production_server_drops_frames_over_1_mib(servers, production_env):
    """It drops a socket that sends over 1 MiB; the room hears nothing; the server lives on."""
    alice, bob = (
        login_as(production_env, servers[0], "alice"),
        login_as(production_env, servers[0], "bob"),
    )

    async def scenario() -> None:
        async with connect(servers[0], "/ws/chat/big/", bob) as listener:
            async with connect(servers[0], "/ws/chat/big/", alice) as sender:
                await sender.send(json.dumps({"message": "x" * (1024 * 1024 + 1)}))
                with pytest.raises(websockets.ConnectionClosed):
                    await asyncio.wait_for(sender.recv(), timeout=10)
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(listener.recv(), timeout=0.5)
            async with connect(servers[0], "/ws/chat/big/", alice) as again:
                await again.send(json.dumps({"message": "small"}))
                assert (
                    json.loads(await asyncio.wait_for(listener.recv(), 10))["message"] == "small"
                )

    asyncio.run(scenario())


def test_a_client_without_credentials_sees_4001_from_the_real_server(servers):
    """It accepts, then closes with 4001, so a real client learns why (not a bare 403)."""

    async def scenario() -> int | None:
        async with websockets.connect(
            f"ws://127.0.0.1:{servers[0]}/ws/chat/lobby/", origin=f"http://127.0.0.1:{servers[0]}"
        ) as socket:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), timeout=10)
            return closed.value.rcvd.code if closed.value.rcvd else None

    assert asyncio.run(scenario()) == 4001


def test_a_foreign_origin_is_refused_by_the_real_server(servers, production_env):
    """It refuses the handshake from a foreign page on a real server (HTTP 403)."""
    alice = login_as(production_env, servers[0], "alice")

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
    import urllib.request

    request = urllib.request.Request(
        f"http://127.0.0.1:{servers[0]}/healthz", headers={"X-Forwarded-Proto": "https"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        body = json.loads(response.read())
    assert body == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_credentials_never_reach_the_server_logs(servers, production_env, server_log):
    """It writes no credential to the server's logs, even one sent in the query string."""
    alice = login_as(production_env, servers[0], "alice")

    async def scenario() -> None:
        async with connect(servers[0], f"/ws/chat/logs/?token={alice.secret}", alice) as socket:
            await socket.send(json.dumps({"message": "logged?"}))
            await asyncio.wait_for(socket.recv(), timeout=10)
        # A refused credential, alone in the query string.
        async with websockets.connect(
            f"ws://127.0.0.1:{servers[0]}/ws/chat/logs/?token={alice.secret}x",
            origin=f"http://127.0.0.1:{servers[0]}",
        ) as refused:
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(refused.recv(), timeout=10)

    asyncio.run(scenario())
    time.sleep(0.5)  # let both servers write their access lines
    logged = server_log.read_text(errors="replace")
    assert "/ws/chat/logs/" in logged  # the access log is there and was read
    assert alice.secret not in logged


def test_sigterm_tells_connected_clients_to_reconnect(servers, production_env, server_log):
    """On SIGTERM the server closes open sockets with 1012 (restart: reconnect), then exits."""
    alice = login_as(production_env, servers[0], "alice")
    port = free_port()
    with server_log.open("ab") as log:
        process = start_server(production_env, port, log)
        try:

            async def scenario() -> int | None:
                async with connect(port, "/ws/chat/sigterm/", alice) as socket:
                    await socket.send(json.dumps({"message": "before the restart"}))
                    await asyncio.wait_for(socket.recv(), timeout=10)
                    process.terminate()
                    with pytest.raises(websockets.ConnectionClosed) as closed:
                        while True:
                            await asyncio.wait_for(socket.recv(), timeout=15)
                    return closed.value.rcvd.code if closed.value.rcvd else None

            code = asyncio.run(scenario())
        finally:
            stop_server(process)
    assert code == 1012
    # Daphne exits 0; Uvicorn re-raises the signal once it has shut down cleanly.
    assert process.returncode in (0, -signal.SIGTERM)


def test_the_server_negotiates_no_compression(servers, production_env):
    """It accepts a client that offers per-message deflate without enabling it."""
    alice = login_as(production_env, servers[0], "alice")

    async def scenario() -> str | None:
        async with connect(servers[0], "/ws/notifications/", alice) as socket:
            return socket.response.headers.get("Sec-WebSocket-Extensions")

    assert asyncio.run(scenario()) is None
