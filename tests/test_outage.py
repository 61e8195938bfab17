"""A Redis outage as long as the project promises to ride out (30 s), on each server.

The generated suite restarts Redis at once (its fault test, tests/test_faults.py, in every
combination); here the same test holds Redis away for the promised 30 seconds, once per
ASGI server, beside the matrix.
"""

import sys
from pathlib import Path

import pytest

from tests.conftest import ProjectEnv, Rendered, build_env, run_id
from tests.matrix import default_combination, load_context
from tests.test_generated_suite import suite_run

OUTAGE_SECONDS = "30"
FAULT_TEST = "tests/test_faults.py::test_a_redis_restart_closes_no_socket_and_loses_no_message"
SERVERS = load_context()["asgi_server"]


@pytest.fixture(
    params=[
        pytest.param(server, marks=pytest.mark.xdist_group(f"outage-{server}"))
        for server in SERVERS
    ]
)
def server_env(request, render, tmp_path_factory) -> ProjectEnv:
    """The default combination on each server, with presence on (nobody may look offline)."""
    values = {**default_combination()[1], "asgi_server": request.param, "use_presence": True}
    rendered: Rendered = render(tmp_path_factory.mktemp(f"render-outage-{request.param}"), values)
    return ProjectEnv(
        rendered.root, build_env(rendered.root, sys.executable, run_id(request.config))
    )


def test_a_30_second_redis_outage_closes_no_socket_and_loses_no_message(
    server_env: ProjectEnv, tmp_path: Path
) -> None:
    suite_run(
        server_env,
        tmp_path,
        env={"TEST_REDIS_OUTAGE_SECONDS": OUTAGE_SECONDS},
        tests=(FAULT_TEST,),
    )
