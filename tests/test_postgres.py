"""One combination's generated suite against a real PostgreSQL server the test starts."""

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ProjectEnv, require_or_skip
from tests.matrix import default_combination

DEFAULT_ID = default_combination()[0]
# initdb refuses to run as root: the server runs as this unprivileged system user.
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
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("PostgreSQL did not start") from None
                time.sleep(0.1)
        time.sleep(0.5)  # the port opens slightly before connections are accepted
        yield f"postgres://tests:{password}@127.0.0.1:{port}/postgres"
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.only_combinations([DEFAULT_ID])
def test_generated_suite_passes_on_postgresql(project_env: ProjectEnv, database_url: str) -> None:
    """The generated suite passes with DATABASE_URL on a real PostgreSQL (psycopg 3)."""
    engine = project_env.run(
        "-c",
        "import django; django.setup(); from django.db import connection; "
        "connection.ensure_connection(); print(connection.vendor, connection.pg_version)",
        env={"DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings"},
    )
    assert engine.split()[-2] == "postgresql", engine
    project_env.run(
        "-m", "pytest", "-p", "no:cacheprovider", "-q", timeout=1200,
        env={"DATABASE_URL": database_url},
    )  # fmt: skip
