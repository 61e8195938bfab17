"""GET /metrics: off without a token, refused with a wrong one, Prometheus' text with it."""

import os
import subprocess
import sys

import pytest

from tests.fixtures import PROJECT_DIR

from ..metrics import LIMITED, exposition


@pytest.fixture
def token(settings) -> str:
    settings.METRICS_TOKEN = "a-scrape-token"
    return settings.METRICS_TOKEN


def test_off_without_a_token(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic a-scrape-token", "a"])
def test_refused_without_the_token(client, token, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_figures_with_the_token(client, token):
    """The figures are Prometheus' text, and they move with what they count."""

    def limits_hit() -> float:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        for line in response.content.decode().splitlines():
            if line.startswith('limits_hit_total{limit="test"}'):
                return float(line.split()[-1])
        return 0.0

    before = limits_hit()
    LIMITED.labels("test").inc()
    assert limits_hit() == before + 1


def test_an_empty_multiprocess_dir_writes_no_files(tmp_path):
    """PROMETHEUS_MULTIPROC_DIR= (unset in .env.example) means one process's own figures:
    nothing is written into the directory the process runs in."""
    script = (
        "import django; django.setup(); import importlib\n"
        f"metrics = importlib.import_module({exposition.__module__!r})\n"
        "metrics.LIMITED.labels('slow_reader').inc()\n"
        "print(metrics.exposition().decode())\n"
    )
    environ = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": "",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(PROJECT_DIR),
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=environ, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert 'limits_hit_total{limit="slow_reader"} 1.0' in result.stdout
    assert list(tmp_path.iterdir()) == []


def test_a_dead_processs_gauges_leave_the_sum_and_its_counters_stay(tmp_path, monkeypatch):
    """Processes sharing PROMETHEUS_MULTIPROC_DIR: one that ended (killed, say) no longer
    counts towards gauges such as open sockets, and its counts stay in the totals."""
    figures = (
        "from prometheus_client import Counter, Gauge\n"
        "gauge = Gauge('sockets_open', 'x', ['route'], multiprocess_mode='livesum')\n"
        "gauge.labels('chat').set(5)\n"
        "Counter('socket_frames_received', 'x').inc(3)\n"
    )
    environ = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", figures], env=environ, check=True)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    text = exposition().decode()
    assert "socket_frames_received_total 3.0" in text
    assert 'sockets_open{route="chat"}' not in text
