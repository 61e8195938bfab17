"""Real Daphne processes sharing real Redis, driven by a real `websockets` client."""

import asyncio
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import websockets

from tests.fixtures import PROJECT_DIR, free_port, wait_for_port

pytestmark = pytest.mark.live

SESSION_SCRIPT = """
from django.contrib.auth import get_user_model
from django.test import Client
user, _ = get_user_model().objects.get_or_create(username="{name}")
client = Client()
client.force_login(user)
print(client.cookies["sessionid"].value)
"""


def run_manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def production_env(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Production settings on a fresh SQLite file and the test Redis."""
    database = Path(tmp_path_factory.mktemp("live")) / "live.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        # bin/serve runs the `daphne` of the environment the tests run in.
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=f"sqlite:///{database}",
        REDIS_URL=redis_url,
    )
    run_manage(env, "migrate", "--no-input")
    return env


@pytest.fixture(scope="module")
def servers(production_env: dict[str, str]) -> Iterator[list[int]]:
    """Two Daphne processes started with the production command, bin/serve."""
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen(
            [str(PROJECT_DIR / "bin" / "serve")],
            env={**production_env, "PORT": str(port)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            wait_for_port(port, timeout=30)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=15)


def session_for(env: dict[str, str], name: str) -> str:
    return run_manage(env, "shell", "-c", SESSION_SCRIPT.format(name=name)).splitlines()[-1]


def connect(port: int, path: str, session: str):
    return websockets.connect(
        f"ws://127.0.0.1:{port}{path}",
        origin=f"http://127.0.0.1:{port}",
        additional_headers={"Cookie": f"sessionid={session}"},
        open_timeout=10,
    )


def test_a_message_sent_through_one_process_reaches_a_client_of_the_other(servers, production_env):
    """It broadcasts across server processes through Redis (the article's closing tip)."""
    alice, bob = session_for(production_env, "alice"), session_for(production_env, "bob")

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
    alice, bob = session_for(production_env, "alice"), session_for(production_env, "bob")

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


def test_a_foreign_origin_is_refused_by_the_real_server(servers, production_env):
    """It refuses the handshake from a foreign page on a real server (HTTP 403)."""
    alice = session_for(production_env, "alice")

    async def scenario() -> None:
        async with websockets.connect(
            f"ws://127.0.0.1:{servers[0]}/ws/chat/lobby/",
            origin="http://evil.example",
            additional_headers={"Cookie": f"sessionid={alice}"},
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
