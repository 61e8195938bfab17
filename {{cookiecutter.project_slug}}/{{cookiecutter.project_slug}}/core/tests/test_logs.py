"""Log lines: JSON ones with the id of their request or socket, and never a credential."""

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from config.log_filters import RedactQueryString
from tests.fixtures import PROJECT_DIR, joined

from ..logs import JsonFormatter, LogContext
from .test_settings import PRODUCTION


@pytest.fixture
def json_lines() -> Iterator[list[str]]:
    """What the project's loggers write through a handler set up as LOG_FORMAT=json's."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactQueryString())
    handler.addFilter(LogContext())
    logger = logging.getLogger(__name__.partition(".")[0])  # the project's package
    logger.addHandler(handler)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)


@pytest.mark.django_db(transaction=True)
async def test_a_sockets_lines_carry_its_id_and_no_query_string(alice, json_lines):
    first = await joined("/ws/chat/logged/?token=secret-looking", alice)
    second = await joined("/ws/chat/logged/", alice)
    await first.disconnect()
    await second.disconnect()
    entries = [json.loads(line) for line in json_lines]
    opened = [e for e in entries if e["message"].startswith("socket opened")]
    assert len(opened) == 2
    assert {e["level"] for e in opened} == {"INFO"}
    assert all(len(e["id"]) == 16 for e in opened)
    assert opened[0]["id"] != opened[1]["id"]
    assert not any("secret-looking" in line for line in json_lines)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("given", "kept"), [("abc-123.XYZ", True), ("a b", False), ("x" * 65, False), ("", False)]
)
def test_a_request_gets_an_id_or_keeps_the_proxys(client, given, kept):
    response = client.get("/healthz", headers={"X-Request-ID": given})
    request_id = response["X-Request-ID"]
    assert (request_id == given) is kept
    if not kept:
        assert len(request_id) == 16


def settings_process(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Runs ``code`` in a Python of its own with the production settings and ``env``."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environ |= {**PRODUCTION, **env}
    environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, env=environ, capture_output=True, text=True
    )


def test_json_logs_are_what_production_writes():
    """With LOG_FORMAT=json the project's loggers write one JSON object a line."""
    logged = settings_process(
        "import django, logging; django.setup(); "
        "logging.getLogger('config').warning('opened %s', '/ws/chat/x/?token=t')",
        LOG_FORMAT="json",
    )
    entry = json.loads(logged.stderr.strip().splitlines()[-1])
    assert (entry["level"], entry["logger"]) == ("WARNING", "config")
    assert entry["message"] == "opened /ws/chat/x/?[redacted]"


def test_a_log_format_that_does_not_exist_stops_start_up():
    result = settings_process("import config.settings", LOG_FORMAT="xml")
    assert result.returncode != 0
    assert 'LOG_FORMAT must be "plain" or "json"' in result.stderr
