"""Processes the tests and the load tool start: free ports, servers, readiness."""

import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import redis

PROJECT_DIR = Path(__file__).resolve().parent.parent


def free_ports(count: int) -> list[int]:
    """Returns ``count`` distinct loopback ports that were free a moment ago.

    The sockets stay bound until every port is chosen: picked one by one, the kernel may
    hand out the same port twice.
    """
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_port() -> int:
    """Returns a loopback port that was free a moment ago."""
    return free_ports(1)[0]


def wait_for_port(
    port: int, timeout: float = 30.0, process: subprocess.Popen | None = None
) -> None:
    """Waits until something listens on ``port`` (and ``process``, if given, still runs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def start_redis(
    binary: str, workdir: Path, port: int | None = None
) -> tuple[subprocess.Popen, str]:
    """Starts a throw-away redis-server on a free loopback port; returns it and its URL.

    ``port``: the port of a Redis this test stopped, to start it again.
    """
    port = port or free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process=process)
        # The port was free a moment ago: make sure the server answering is ours.
        found = redis.Redis(port=port).info("server")["process_id"]
        if found != process.pid:
            raise RuntimeError(f"port {port} is held by another Redis (pid {found})")
    except BaseException:
        process.kill()
        raise
    return process, f"redis://127.0.0.1:{port}"


# The settings that turn off every limit of one client (core/limits.py).
CLIENT_LIMITS_OFF = {
    "WEBSOCKET_MESSAGE_RATE": "0",
    "USER_MESSAGE_RATE": "0",
    "USER_MAX_SOCKETS": "0",
    "WEBSOCKET_RECEIVE_BACKLOG": "0",
}


def production_settings(database: Path, redis_url: str) -> dict[str, str]:
    """The environment of a production server on ``database`` and ``redis_url``.

    It is not the test process's: no PYTEST_VERSION (so no test defaults) and no .env.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        DJANGO_READ_DOT_ENV="false",
        # bin/serve runs the server of the environment the tests run in.
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        DJANGO_DEBUG="false",
        # The proxy in front terminates TLS; these servers are reached over plain HTTP.
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=f"sqlite:///{database}",
        REDIS_URL=redis_url,
        # Every process verifies the tokens the others issued; they outlive the session.
        JWT_SIGNING_KEY=secrets.token_urlsafe(48),
        JWT_ACCESS_TOKEN_LIFETIME="3600",
        # /metrics as in production: several processes summed in one directory.
        METRICS_TOKEN=secrets.token_urlsafe(24),
        PROMETHEUS_MULTIPROC_DIR=str(database.parent / f"metrics-{database.stem}"),
        # The load tool and the live tests open a thousand sockets as one or two users, and
        # post as fast as they can: no client limits (tests/test_limits.py has its own
        # servers, with the shipped limits).
        **CLIENT_LIMITS_OFF,
    )
    return env


def spawn_server(env: dict[str, str], port: int, log: IO[bytes] | int) -> subprocess.Popen:
    """Starts the production command, bin/serve, on ``port``, without waiting for it."""
    return subprocess.Popen(
        [str(PROJECT_DIR / "bin" / "serve")],
        env={**env, "PORT": str(port), "PYTHONUNBUFFERED": "1"},
        stdout=log,
        stderr=subprocess.STDOUT,
        # Its own process group, so that a test can signal the server and its children.
        start_new_session=True,
    )


def await_server(process: subprocess.Popen, port: int) -> subprocess.Popen:
    """Waits until the server ``process`` listens on ``port``; kills it if it never does."""
    try:
        wait_for_port(port, timeout=60, process=process)
    except (TimeoutError, RuntimeError):
        process.kill()
        raise
    return process


def start_server(env: dict[str, str], port: int, log: IO[bytes] | int) -> subprocess.Popen:
    """Starts the production command, bin/serve, on ``port``; waits until it listens."""
    return await_server(spawn_server(env, port, log), port)
