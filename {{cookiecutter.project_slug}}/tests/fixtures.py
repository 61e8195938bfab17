"""Fixtures shared by every test: real Redis, channel layers and logged-in sockets."""

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from config.asgi import application
from config.layers import channel_layers

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


def session_cookie(user: object) -> str:
    """Logs ``user`` in and returns the session cookie a browser would send."""
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def communicator(
    path: str, *, session: str | None = None, origin: bytes | None = ORIGIN
) -> WebsocketCommunicator:
    """A client of the real ASGI application, with a browser's Origin and cookie."""
    headers = []
    if origin is not None:
        headers.append((b"origin", origin))
    if session is not None:
        headers.append((b"cookie", f"sessionid={session}".encode()))
    return WebsocketCommunicator(application, path, headers=headers)
