"""Fixtures shared by every test: real Redis, channel layers, servers and logged-in sockets."""

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest
import redis
import websockets
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.core.cache import cache
from playwright.sync_api import Browser, sync_playwright
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from config.asgi import application
from config.layers import channel_layers, redis_cache
from tests.auth import USERS_SCRIPT, Login, live_logins, login
from tests.processes import (
    CLIENT_LIMITS_OFF,
    PROJECT_DIR,
    await_server,
    free_port,
    free_ports,
    production_settings,
    spawn_server,
    start_redis,
    start_server,
    wait_for_port,
)

__all__ = ["PROJECT_DIR", "free_port", "login", "start_server", "wait_for_port"]

ORIGIN = b"http://localhost"
# Where tools live that are not always on PATH: Debian's sbin, Homebrew.
EXTRA_BIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/opt/homebrew/bin", "/usr/local/bin")
# The names Chromium goes by: Debian's package, other distributions', Google's.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# The users the live tests log in as, created once per session.
LIVE_USERS = ("alice", "bob", "carol")
# Timers of the servers the live tests start: short, so that tests of them are quick.
# core/tests/test_settings.py checks that the shipped defaults fit together.
LIVE_TIMERS = {
    "WEBSOCKET_PING_INTERVAL": "1",
    "PRESENCE_REFRESH_INTERVAL": "0.5",
    "PRESENCE_CUTOFF": "3",
    # A slow reader is found after fewer frames (500) or seconds (10) than in production.
    "WEBSOCKET_SEND_BACKLOG": "50",
    "WEBSOCKET_SLOW_READER_SECONDS": "2",
    # An order's steps (orders/services.py): quick, yet each its own push to the page.
    "ORDER_STEP_SECONDS": "0.2",
}


def require_or_skip(reason: str) -> NoReturn:
    """Skips the test with ``reason``, or fails it under CI=true, where nothing may skip."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: under CI=true nothing may be skipped")
    pytest.skip(reason)


def require_binary(name: str, brew: str = "") -> str:
    """Returns the path of ``name``; skips without it, and fails when CI=true."""
    path = shutil.which(name) or shutil.which(name, path=os.pathsep.join(EXTRA_BIN_DIRS))
    if path is None:
        require_or_skip(
            f"{name} is not on PATH nor in {', '.join(EXTRA_BIN_DIRS)} "
            f"(apt-get install {name}, or brew install {brew or name})"
        )
    return path


def shipped_timers() -> dict[str, float]:
    """Returns the timer defaults the project ships, from .env.example and bin/serve."""
    example = (PROJECT_DIR / ".env.example").read_text()
    found = {
        name: float(value)
        for name, value in re.findall(r"^([A-Z_]+)=(\d+(?:\.\d+)?)$", example, re.MULTILINE)
    }
    serve = (PROJECT_DIR / "bin" / "serve").read_text()
    ping = re.search(r"ping-interval \"\$\{WEBSOCKET_PING_INTERVAL:-(\d+)\}\"", serve)
    found["serve ping interval"] = float(ping.group(1))
    found["serve ping timeout"] = float(re.search(r"ping-timeout (\d+)", serve).group(1))
    return found


def wait_until(condition: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    """Returns the first true value of ``condition()``, polling until ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"not true after {timeout} s: {what or condition}")
        time.sleep(0.05)


def pytest_itemcollected(item: pytest.Item) -> None:
    # Marked `redis` when it runs on Redis, so that `-m "not redis"` runs without it.
    params = getattr(item, "callspec", None)
    on_redis = params is not None and "redis" in params.params.values()
    if on_redis or "redis_server" in getattr(item, "fixturenames", ()):
        item.add_marker("redis")


def run_order(item: pytest.Item) -> tuple[int, bool]:
    """Sorts live tests first, then the others, then ``run_last(n)`` tests by ``n``."""
    last = item.get_closest_marker("run_last")
    if last is not None:
        return 1 + (last.args[0] if last.args else 0), False
    return 0, item.get_closest_marker("live") is None


@pytest.hookimpl(trylast=True)  # after pytest-django's ordering by database use
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Live tests first: they open idle sockets that tests marked run_last check after every
    # other test, so that the quiet period overlaps the rest of the suite. A test that ends
    # a shared server comes last of all (run_last(1)).
    items.sort(key=run_order)


@pytest.fixture(autouse=True)
def _local_services_only(settings) -> None:
    """Starts every test on local, in-process services: no Redis unless a test asks for it."""
    settings.REDIS_URL = ""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.CHANNEL_LAYERS = channel_layers("")


@pytest.fixture(autouse=True)
def _no_client_limits(settings) -> None:
    """Lets tests send as fast as they like; the tests of the limits turn them on."""
    for name, value in CLIENT_LIMITS_OFF.items():
        setattr(settings, name, int(value))


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """Hashes test passwords with a fast hasher: PBKDF2 costs a quarter second a user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache(_local_services_only: None) -> Iterator[None]:
    """Starts every test with an empty cache (login throttling lives there)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Starts a throw-away redis-server on a free loopback port; yields its base URL.

    TEST_REDIS_URL points the tests at a Redis that already runs (a CI service) instead;
    its databases 0, 1 and 2 are flushed, so never point it at a Redis holding data.
    """
    if os.environ.get("TEST_REDIS_URL"):
        yield os.environ["TEST_REDIS_URL"].rstrip("/").rsplit("/", 1)[0]
        return
    yield from _throwaway_redis(tmp_path_factory, "redis")


@pytest.fixture(scope="session")
def second_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Another throw-away Redis server (database 0), for sharding over two hosts."""
    for url in _throwaway_redis(tmp_path_factory, "redis2"):
        yield f"{url}/0"


def _throwaway_redis(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[str]:
    binary = require_binary("redis-server", brew="redis")
    process, url = start_redis(binary, tmp_path_factory.mktemp(name))
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class RestartableRedis:
    """A Redis server of one test's own, which the test stops and starts again."""

    binary: str
    workdir: Path
    process: subprocess.Popen
    url: str

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def start(self) -> None:
        """Starts it again on the same port, empty."""
        port = int(self.url.rsplit(":", 1)[1])
        self.process, _ = start_redis(self.binary, self.workdir, port=port)


@pytest.fixture
def restartable_redis(tmp_path: Path) -> Iterator[RestartableRedis]:
    binary = require_binary("redis-server", brew="redis")
    server = RestartableRedis(binary, tmp_path, *start_redis(binary, tmp_path))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sentinel(second_redis: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A Redis Sentinel (redis-server --sentinel) watching the second Redis as "main".

    Yields the host entry the channel layer and presence take for it.
    """
    binary = require_binary("redis-server", brew="redis")
    port, master_port = free_port(), int(second_redis.rsplit(":", 1)[1].split("/")[0])
    config = tmp_path_factory.mktemp("sentinel") / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\nsentinel monitor main 127.0.0.1 {master_port} 1\n"
    )
    process = subprocess.Popen(
        [binary, str(config), "--sentinel"], cwd=config.parent, stdout=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, process=process)
        client = redis.Redis(port=port)
        wait_until(lambda: client.sentinel_get_master_addr_by_name("main"), timeout=10)
        yield {"sentinels": [("127.0.0.1", port)], "master_name": "main"}
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(params=["memory", "redis"])
def shared_cache(request: pytest.FixtureRequest, settings) -> str:
    """The default cache in this process's memory, then on real Redis (what servers share):
    the throttles' counters on both."""
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        redis.Redis.from_url(url).flushdb()
        settings.CACHES = {"default": redis_cache(url, max_connections=50)}
    return request.param


@pytest.fixture
def cache_away(settings) -> Iterator[None]:
    """Points the default cache at a Redis that is not there, until the test ends."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {"default": redis_cache(url, max_connections=5)}
    yield
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}


@pytest.fixture(scope="session")
def redis_url(redis_server: str) -> str:
    """The test Redis database of in-process tests (the live servers use another one)."""
    return f"{redis_server}/0"


@pytest.fixture
def redis_layer(settings, redis_url: str) -> str:
    """Switches the project to the Redis channel layer, on an empty Redis database."""
    redis.Redis.from_url(redis_url).flushdb()
    settings.REDIS_URL = redis_url
    settings.CHANNEL_LAYERS = channel_layers(redis_url)
    return redis_url


@pytest.fixture
def alice(make_user) -> Login:
    """The credentials of a new user "alice" (tests that need the user too override it)."""
    return login(make_user("alice"))


@pytest.fixture
def bob(make_user) -> Login:
    return login(make_user("bob"))


def scrape(port: int, env: dict[str, str]) -> dict[tuple[str, frozenset], float]:
    """The figures /metrics of a live server reports (for every process of its directory)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/metrics",
        headers={"Authorization": f"Bearer {env['METRICS_TOKEN']}"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def figure(figures: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    """One figure of ``scrape``'s, 0.0 if nothing counted it yet."""
    return figures.get((name, frozenset(labels.items())), 0.0)


def close_code(error: websockets.ConnectionClosed) -> int | None:
    """The code of the close frame the server sent, if any."""
    return error.rcvd.code if error.rcvd else None


def metric(name: str, **labels: str) -> float:
    """A figure of this process's metrics (core/metrics.py); 0.0 before anything counted it."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def live_connect(port: int, path: str, login: Login, **kwargs: Any):
    """Connects to a live server as a browser page of the site would, with ``login``."""
    return websockets.connect(
        f"ws://127.0.0.1:{port}{path}",
        origin=f"http://127.0.0.1:{port}",
        additional_headers=login.headers,
        subprotocols=login.subprotocols or None,
        open_timeout=30,
        **kwargs,
    )


async def next_frame_of(socket: Any, kind: str, within: float) -> dict:
    """The next JSON frame of type ``kind`` a live socket receives, skipping the others."""
    async with asyncio.timeout(within):
        while True:
            frame = json.loads(await socket.recv())
            if frame["type"] == kind:
                return frame


async def joined(path: str, login: Login) -> WebsocketCommunicator:
    """A communicator connected to ``path`` with ``login``'s credentials."""
    client = communicator(path, login=login)
    connected, _ = await client.connect(timeout=10)
    assert connected
    return client


@pytest.fixture
def redis_away(settings) -> str:
    """Points the channel layer at a Redis that is not there (a port nothing listens on)."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    settings.REDIS_URL = url
    settings.CHANNEL_LAYERS = channel_layers(url)
    return url


@pytest.fixture(params=["memory", "redis"])
def layer(request: pytest.FixtureRequest, settings) -> str:
    """Runs a test once on the in-memory channel layer and once on real Redis."""
    if request.param == "redis":
        request.getfixturevalue("redis_layer")
    return request.param


@pytest.fixture
def make_user(transactional_db) -> Callable[..., object]:
    def make(username: str = "alice", **fields: object) -> object:
        return get_user_model().objects.create_user(username=username, password="pw", **fields)

    return make


class Communicator(WebsocketCommunicator):
    """Channels' test client, with a handshake deadline a loaded machine can meet.

    Channels waits 1 s for the handshake by default; with a dozen suites sharing two cores
    the first handshake of a test module has been seen to take longer.
    """

    async def connect(self, timeout: float = 30) -> tuple[bool, int | str | None]:  # noqa: ASYNC109 (overrides Channels)
        return await super().connect(timeout)


def communicator(
    path: str, *, login: Login | None = None, origin: bytes | None = ORIGIN
) -> WebsocketCommunicator:
    """A client of the real ASGI application, with a browser's Origin and credentials."""
    headers = [(b"origin", origin)] if origin is not None else []
    subprotocols = None
    if login is not None:
        headers += login.asgi_headers
        subprotocols = login.subprotocols or None
    return Communicator(application, path, headers=headers, subprotocols=subprotocols)


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


@dataclass
class Production:
    """The environment of the live servers, and the users made in their database."""

    env: dict[str, str]
    users: dict[str, str]


@pytest.fixture(scope="session")
def production(redis_server: str, tmp_path_factory: pytest.TempPathFactory) -> Production:
    """Production settings on a fresh SQLite file, migrated, with LIVE_USERS in it."""
    database = Path(tmp_path_factory.mktemp("live")) / "live.sqlite3"
    env = production_settings(database, f"{redis_server}/1") | LIVE_TIMERS
    # One Django start-up for both: the migrations, then the users.
    setup = "from django.core.management import call_command\n"
    setup += "call_command('migrate', interactive=False, verbosity=0)\n"
    output = run_manage(env, "shell", "-c", setup + USERS_SCRIPT.format(names=LIVE_USERS))
    return Production(env, json.loads(output.splitlines()[-1]))


@pytest.fixture(scope="session")
def production_env(production: Production) -> dict[str, str]:
    """The environment of the live servers (production settings, test timers)."""
    return production.env


@pytest.fixture(scope="session")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs") / "servers.log"


def stop_server(process: subprocess.Popen) -> None:
    """Stops a server the way a process manager does: SIGTERM, then wait for it to exit."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


@contextlib.contextmanager
def server_cluster(env: dict[str, str], log_path: Path) -> Iterator[dict[int, subprocess.Popen]]:
    """Two server processes (Daphne or Uvicorn) started with the production command, by port.

    Whatever still runs at the end is killed: graceful shutdown is the SIGTERM test's, on a
    server of its own.
    """
    ports = free_ports(2)
    with log_path.open("ab") as log:
        # Both start at once (each takes a second or two of CPU to import Django).
        processes = {port: spawn_server(env, port, log) for port in ports}
    try:
        for port, process in processes.items():
            await_server(process, port)
        yield processes
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        for process in processes.values():
            process.wait(timeout=30)


@pytest.fixture(scope="session")
def server_processes(
    production_env: dict[str, str], server_log: Path
) -> Iterator[dict[int, subprocess.Popen]]:
    """The live servers: two processes on the session's Redis and database.

    A test marked ``run_last(1)`` may kill one (presence after a crash).
    """
    with server_cluster(production_env, server_log) as processes:
        yield processes


@pytest.fixture(scope="session")
def servers(server_processes: dict[int, subprocess.Popen]) -> list[int]:
    """The ports of the two server processes."""
    return list(server_processes)


@pytest.fixture(scope="session")
def live_users(production: Production, servers: list[int]) -> dict[str, Login]:
    """LIVE_USERS logged in once for the session, against the live servers' database."""
    return live_logins(production.users, f"http://127.0.0.1:{servers[0]}", LIVE_USERS)


def chromium_binary() -> str:
    """The path of a Chromium on PATH; skips without one, and fails when CI=true."""
    for name in CHROMIUM_NAMES:
        if path := shutil.which(name):
            return path
    require_or_skip(
        f"no Chromium on PATH (looked for {', '.join(CHROMIUM_NAMES)}): apt-get install "
        "chromium, or brew install --cask chromium; Playwright's own download is not used"
    )


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """A headless Chromium driven by Playwright, for one test module (tests/test_browser.py).

    Module-scoped: Playwright's sync API runs an event loop of its own, which must be gone
    before the suite's asyncio tests run.
    """
    binary = chromium_binary()
    # Root cannot use Chromium's sandbox; background networking would reach the internet.
    args = ["--disable-background-networking"] + (["--no-sandbox"] if os.geteuid() == 0 else [])
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=binary, headless=True, args=args)
        try:
            yield browser
        finally:
            browser.close()


# Seconds an access token lives on the `site` servers (auth = jwt): pages refresh it halfway.
SITE_TOKEN_LIFETIME = 4


@dataclass
class Site:
    """Two server processes of the browser tests' own, and how to sign in to them."""

    env: dict[str, str]
    processes: dict[int, subprocess.Popen]
    users: dict[str, str]
    log: Path

    def url(self, index: int = 0) -> str:
        return f"http://127.0.0.1:{list(self.processes)[index]}"


@pytest.fixture(scope="session")
def site(production: Production, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Two production servers (bin/serve, static files collected) on the live servers'
    database and Redis, for the browser tests, which may kill, stop and restart them as
    long as they put them back; their access tokens live a few seconds, so that pages
    refresh them while the tests run."""
    tmp_path = tmp_path_factory.mktemp("browser")
    env = {
        **production.env,
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        "JWT_ACCESS_TOKEN_LIFETIME": str(SITE_TOKEN_LIFETIME),
    }
    run_manage(env, "collectstatic", "--no-input", "--verbosity", "0")
    log = tmp_path / "servers.log"
    with server_cluster(env, log) as processes:
        yield Site(env, processes, production.users, log)


@dataclass
class IdleSocket:
    """A socket opened early and left idle in a thread of its own, then used once."""

    idle_for: float
    thread: threading.Thread | None = None
    received: dict = field(default_factory=dict)
    error: BaseException | None = None

    def wait(self) -> None:
        """Waits for the socket's one exchange to end, well or badly."""
        assert self.thread is not None
        self.thread.join(timeout=self.idle_for + 60)
        assert not self.thread.is_alive(), "the idle socket's exchange did not finish"

    def result(self) -> dict:
        """Waits for the socket's one exchange and returns the frame it received."""
        self.wait()
        assert self.error is None, repr(self.error)
        return self.received


def idle_socket(connect: Callable[[], Any], idle_for: float) -> IdleSocket:
    """Opens ``connect()``, stays quiet ``idle_for`` seconds, then sends and reads a message."""
    idle = IdleSocket(idle_for)

    async def scenario() -> None:
        async with connect() as socket:
            # The quiet period is what is under test, not a wait for something to happen.
            await asyncio.sleep(idle_for)
            await socket.send(json.dumps({"message": "still here"}))
            async with asyncio.timeout(30):
                while idle.received.get("message") != "still here":
                    idle.received = json.loads(await socket.recv())

    def run() -> None:
        try:
            asyncio.run(scenario())
        except BaseException as error:  # reported by result()
            idle.error = error

    idle.thread = threading.Thread(target=run, daemon=True)
    idle.thread.start()
    return idle
