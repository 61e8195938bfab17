"""One combination's generated suite against a real PostgreSQL server the test starts."""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ProjectEnv, Rendered, build_env, require_or_skip, run_id
from tests.matrix import default_combination
from tests.test_generated_suite import suite_run

DEFAULT_VALUES = default_combination()[1]
# initdb refuses to run as root: the server runs as this unprivileged system user.
# Modules about sockets, Redis, the proxy and Chromium, whose database use (a login) the
# rest of the suite covers: the matrix runs them on SQLite in every combination.
NOT_ABOUT_THE_DATABASE = (
    "tests/test_browser.py",
    "tests/test_fanout_benchmark.py",
    "tests/test_faults.py",
    "tests/test_limits.py",
    "tests/test_nginx.py",
    "tests/test_orders_page.py",
    "tests/test_presence_crash.py",
    "tests/test_presence_storm.py",
)
SERVER_USER = "postgres"


def postgres_binary(name: str) -> str:
    """Returns Debian's PostgreSQL binary ``name`` (not on PATH there), or skips."""
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    return shutil.which(name) or require_or_skip(
        f"{name} is not installed (apt-get install postgresql)"
    )


def as_server_user(command: list[str]) -> list[str]:
    """Prefixes ``command`` to run as SERVER_USER when the tests run as root."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser") or require_or_skip("runuser is missing (util-linux)")
    return [runuser, "-u", SERVER_USER, "--", *command]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """Starts a throw-away PostgreSQL on a free loopback port; yields a superuser URL."""
    initdb, postgres = postgres_binary("initdb"), postgres_binary("postgres")
    workdir = Path(tempfile.mkdtemp(prefix="cc-postgres-"))
    password = secrets.token_urlsafe(16)
    (workdir / "password").write_text(password)
    if os.geteuid() == 0:
        shutil.chown(workdir, SERVER_USER)
        shutil.chown(workdir / "password", SERVER_USER)
    data = workdir / "data"
    subprocess.run(
        as_server_user(
            [initdb, "-D", str(data), "-U", "tests", "--auth=scram-sha-256",
             f"--pwfile={workdir / 'password'}", "--no-sync", "-E", "UTF8"]
        ),
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    port = free_port()
    server = subprocess.Popen(
        as_server_user(
            [postgres, "-D", str(data), "-p", str(port), "-h", "127.0.0.1",
             "-k", str(workdir), "-c", "fsync=off", "-c", "max_connections=200"]
        ),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        ready = [postgres_binary("pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)]
        deadline = time.monotonic() + 60
        while subprocess.run(ready, check=False).returncode != 0:
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("PostgreSQL did not start accepting connections")
            time.sleep(0.1)
        yield f"postgres://tests:{password}@127.0.0.1:{port}/postgres"
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="module")
def default_env(render, tmp_path_factory, request: pytest.FixtureRequest) -> ProjectEnv:
    """The default combination rendered on its own (its suite runs beside the matrix's)."""
    rendered: Rendered = render(tmp_path_factory.mktemp("render-postgres"), DEFAULT_VALUES)
    python = build_env(rendered.root, sys.executable, run_id(request.config))
    return ProjectEnv(rendered.root, python)


def test_generated_suite_passes_on_postgresql(
    default_env: ProjectEnv, database_url: str, tmp_path: Path
) -> None:
    """The generated suite passes with TEST_DATABASE_URL on a real PostgreSQL (psycopg 3),
    but for the modules that are not about the database."""
    engine = default_env.run(
        "-c",
        "import django; django.setup(); from django.db import connection; "
        "connection.ensure_connection(); print(connection.vendor, connection.pg_version)",
        env={"DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )
    assert engine.split()[-2] == "postgresql", engine
    ignore = tuple(f"--ignore={module}" for module in NOT_ABOUT_THE_DATABASE)
    suite_run(default_env, tmp_path, env={"TEST_DATABASE_URL": database_url}, tests=ignore)
