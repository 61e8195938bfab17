"""benchmarks/fanout.py, the load tool, at a small size against a live server and the reference."""

import asyncio
import importlib.util

import pytest

from tests.fixtures import PROJECT_DIR

pytestmark = pytest.mark.live


@pytest.fixture(scope="module")
def fanout():
    """The load tool, imported from its file (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "fanout", PROJECT_DIR / "benchmarks" / "fanout.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_load_tool_measures_the_project_and_raw_websockets(
    fanout, server_processes, live_users, tmp_path
):
    """It counts every delivery on both servers, in order, and reports and plots them."""
    port, process = next(iter(server_processes.items()))
    project = fanout.Target("this project", port, process.pid, live_users["alice"])
    with fanout.raw_server() as raw:
        results = asyncio.run(fanout.run_all([raw, project], [5], 100, 1.0, core=None))
    assert [(r.server, r.members, r.lost, r.out_of_order) for r in results] == [
        ("raw websockets", 5, 0, 0),
        ("this project", 5, 0, 0),
    ]
    for result in results:
        assert result.deliveries_per_s > 0
        assert result.handshakes_per_s > 0
        assert result.paced_p99_ms >= result.paced_p50_ms > 0
    assert "| this project | 5 |" in fanout.table(results)
    fanout.plot(results, tmp_path / "fanout.png")
    assert (tmp_path / "fanout.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_floor_apps_accept_idle_sockets_on_the_production_server(fanout, production_env):
    """The fullest floor app (Channels' consumer on the layer) runs under bin/serve and
    holds its sockets open; the others are parts of it."""
    with fanout.floor_servers(production_env, ("consumer_on_layer",)) as targets:
        results = asyncio.run(fanout.run_idle(targets, [5], core=None))
    label = fanout.FLOOR_APPS["consumer_on_layer"]
    assert [(r.server, r.members) for r in results] == [(f"{fanout.SERVER_NAME}, {label}", 5)]
    assert all(r.handshakes_per_s > 0 for r in results)
    assert "| 5 |" in fanout.idle_table(results)
