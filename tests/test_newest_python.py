"""The default project runs on the newest CPython available, with the newest Django."""

from pathlib import Path

import pytest

from tests.conftest import ProjectEnv, Rendered, build_env, require_or_skip, run_id
from tests.matrix import default_combination
from tests.pythons import newest_python
from tests.test_generated_suite import suite_run

pytestmark = pytest.mark.xdist_group("newest-python")
# Chromium and the page's JavaScript do not change with Python; the servers behind them
# are the same as the live tests', which run here.
NOT_ABOUT_PYTHON = ("tests/test_browser.py", "tests/test_orders_page.py")


@pytest.fixture(scope="module")
def newest_env(render, tmp_path_factory, request) -> ProjectEnv:
    """The default combination in a fresh env on the newest CPython, rendered on its own."""
    found = newest_python()
    if found is None:
        require_or_skip(
            "no CPython >= 3.12 under `pyenv root`/versions, on PATH or managed by uv: "
            "install one (`uv python install 3.13` or `pyenv install 3.13`)"
        )
    python, _ = found
    # Its own render, so that its suite never shares a working tree with the default one.
    _, values = default_combination()
    rendered: Rendered = render(tmp_path_factory.mktemp("render-newest"), values)
    # The same universal lock as on Python 3.11: its markers pick Django 6 here.
    env_python = build_env(rendered.root, str(python), run_id(request.config))
    return ProjectEnv(rendered.root, env_python)


def test_newest_python_gets_django_6(newest_env: ProjectEnv) -> None:
    """On Python 3.12 or newer the lock's markers install Django 6 or later."""
    out = newest_env.run("-c", "import django; print(django.VERSION[0])")
    assert int(out.strip().splitlines()[-1]) >= 6


def test_newest_python_suite_passes(newest_env: ProjectEnv, tmp_path: Path) -> None:
    """The generated suite passes on the newest Python and Django, but for the browser tests."""
    suite_run(
        newest_env, tmp_path, tests=tuple(f"--ignore={module}" for module in NOT_ABOUT_PYTHON)
    )
