"""Fixtures shared by every test: real Redis, channel layers and logged-in sockets."""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest
import redis
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.core.cache import cache

from config.asgi import application
from config.layers import channel_layers
from tests.auth import Login, login

__all__ = ["login"]

PROJECT_DIR = Path(__file__).resolve().parent.parent
ORIGIN = b"http://localhost"


def require_binary(name: str) -> str:
    """Returns the path of ``name``; skips without it, and fails when CI=true."""
    path = shutil.which(name)
    if path is None:
        reason = f"{name} is not installed (apt-get install {name}); these tests need it"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests marked run_last check something started early (an idle socket): run them after
    # everything else, so the wait overlaps the other tests.
    items.sort(key=lambda item: item.get_closest_marker("run_last") is not None)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """Hashes test passwords with a fast hasher: PBKDF2 costs a quarter second a user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Starts every test with an empty cache (login throttling lives there)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Starts a throw-away redis-server on a free loopback port for the session.

    TEST_REDIS_URL points the tests at a Redis that already runs (a CI service) instead;
    it is flushed before tests that use it, so never point it at a Redis holding data.
    """
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"]
        return
    binary = require_binary("redis-server")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def redis_layer(settings, redis_url: str) -> str:
    """Switches the project to the Redis channel layer, on an empty Redis."""
    redis.Redis.from_url(redis_url).flushall()
    settings.REDIS_URL = redis_url
    settings.CHANNEL_LAYERS = channel_layers(redis_url)
    return redis_url


@pytest.fixture(params=["memory", "redis"])
def layer(request: pytest.FixtureRequest, settings) -> str:
    """Runs a test once on the in-memory channel layer and once on real Redis."""
    if request.param == "redis":
        request.getfixturevalue("redis_layer")
    else:
        settings.CHANNEL_LAYERS = channel_layers("")
    return request.param


@pytest.fixture
def make_user(transactional_db) -> Callable[..., object]:
    def make(username: str = "alice", **fields: object) -> object:
        return get_user_model().objects.create_user(username=username, password="pw", **fields)

    return make


def communicator(
    path: str, *, login: Login | None = None, origin: bytes | None = ORIGIN
) -> WebsocketCommunicator:
    """A client of the real ASGI application, with a browser's Origin and credentials."""
    headers = [(b"origin", origin)] if origin is not None else []
    subprotocols = None
    if login is not None:
        headers += login.asgi_headers
        subprotocols = login.subprotocols or None
    return WebsocketCommunicator(application, path, headers=headers, subprotocols=subprotocols)


async def receive_close(client: WebsocketCommunicator) -> dict[str, object]:
    """Returns the close message the server sent, then lets the consumer finish."""
    closed = await client.receive_output(timeout=5)
    assert closed["type"] == "websocket.close", closed
    await client.disconnect()
    return closed


def manage_process(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Runs `manage.py <args>` in a subprocess with ``env``; returns what it did."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_manage(env: dict[str, str], *args: str) -> str:
    result = manage_process(env, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="session")
def production_env(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Production settings on a fresh SQLite file and the test Redis."""
    database = Path(tmp_path_factory.mktemp("live")) / "live.sqlite3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        # bin/serve runs the server of the environment the tests run in.
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        DJANGO_DEBUG="false",
        # The proxy in front terminates TLS; these servers are reached over plain HTTP.
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=f"sqlite:///{database}",
        REDIS_URL=redis_url,
    )
    run_manage(env, "migrate", "--no-input")
    return env


@pytest.fixture(scope="session")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs") / "servers.log"


def start_server(env: dict[str, str], port: int, log: IO[bytes]) -> subprocess.Popen:
    """Starts the production command, bin/serve, on ``port``; waits until it listens."""
    process = subprocess.Popen(
        [str(PROJECT_DIR / "bin" / "serve")],
        env={**env, "PORT": str(port), "PYTHONUNBUFFERED": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, timeout=30)
    except TimeoutError:
        process.kill()
        raise
    return process


def stop_server(process: subprocess.Popen) -> None:
    """Stops a server the way a process manager does: SIGTERM, then wait for it to exit."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


@pytest.fixture(scope="session")
def servers(production_env: dict[str, str], server_log: Path) -> Iterator[list[int]]:
    """Two server processes (Daphne or Uvicorn) started with the production command."""
    ports = [free_port(), free_port()]
    with server_log.open("ab") as log:
        processes = []
        try:
            for port in ports:
                processes.append(start_server(production_env, port, log))
            yield ports
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=20)
