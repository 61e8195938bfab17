"""Two combinations share a test module's run only when it reads the very same files."""

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Rendered
from tests.matrix import default_combination, load_context, options
from tests.suite_keys import (
    ADDONS,
    SHARED,
    SUITE_INERT,
    Shared,
    addons_named,
    is_test_module,
    matches,
    module_keys,
)
from tests.test_generated_suite import failed_modules

BASE = {
    "app.py": "x = 1\n",
    "bin/serve": "daphne\n",
    "tests/fixtures.py": "PORT = 1\n",
    "tests/test_app.py": "def test(): pass\n",
    "tests/test_nginx.py": "def test(): nginx()\n",
}


def project(root: Path, files: dict[str, str]) -> Rendered:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return Rendered(root=root, context={}, files=sorted(files))


@pytest.fixture
def keys(tmp_path: Path) -> Callable[..., dict[str, str]]:
    made = iter(range(100))

    def keys(**changes: str | None) -> dict[str, str]:
        files = {**BASE, **changes}
        files = {name: text for name, text in files.items() if text is not None}
        return module_keys(project(tmp_path / str(next(made)), files))

    return keys


def test_each_test_module_gets_a_key(keys) -> None:
    """It keys the test modules, not the helpers or the code."""
    assert set(keys()) == {"tests/test_app.py", "tests/test_nginx.py"}


def test_inert_files_and_other_modules_do_not_change_a_key(keys) -> None:
    """Docs, CI, .env and the other test modules leave a module's key alone."""
    base = keys()["tests/test_app.py"]
    assert (
        keys(**{"README.md": "b", ".github/workflows/ci.yml": "b", ".env": "S=2"})[
            "tests/test_app.py"
        ]
        == base
    )
    assert (
        keys(**{"tests/test_nginx.py": None, "tests/test_more.py": "x"})["tests/test_app.py"]
        == base
    )


@pytest.mark.parametrize(
    "changes",
    [{"app.py": "x = 2\n"}, {"bin/serve": "uvicorn\n"}, {"tests/fixtures.py": "PORT = 2\n"},
     {"tests/test_app.py": "def test(): assert 0\n"}, {"requirements-dev.lock": "django\n"}],
)  # fmt: skip
def test_code_scripts_helpers_and_the_module_change_its_key(keys, changes) -> None:
    """Any change to what a module can import or run gives it a new key."""
    assert keys(**changes)["tests/test_app.py"] != keys()["tests/test_app.py"]


def test_an_add_on_changes_the_keys_of_the_modules_naming_it(keys) -> None:
    """deploy/nginx/ is in the key of a module that says nginx, and of no other."""
    without, with_nginx = keys(), keys(**{"deploy/nginx/site.conf": "server {}\n"})
    assert with_nginx["tests/test_app.py"] == without["tests/test_app.py"]
    assert with_nginx["tests/test_nginx.py"] != without["tests/test_nginx.py"]


def test_a_module_naming_one_part_of_an_add_on_reads_that_part_only(keys) -> None:
    """A module about bin/healthcheck alone runs again when the script changes, not when the
    compose file does."""
    module = {"tests/test_health.py": "def test(): run('bin/healthcheck')\n"}
    base = keys(**module, **{"bin/healthcheck": "a", "compose.yaml": "a"})["tests/test_health.py"]
    other_compose = keys(**module, **{"bin/healthcheck": "a", "compose.yaml": "b"})
    other_script = keys(**module, **{"bin/healthcheck": "b", "compose.yaml": "a"})
    assert other_compose["tests/test_health.py"] == base
    assert other_script["tests/test_health.py"] != base


def test_a_helper_naming_an_add_on_puts_it_in_every_key(keys) -> None:
    """A helper any module may call that reads an add-on's files makes every module read them."""
    helper = {"tests/fixtures.py": "SITE = 'deploy/nginx/site.conf'\n"}
    without = keys(**helper)
    with_nginx = keys(**helper, **{"deploy/nginx/site.conf": "server {}\n"})
    assert with_nginx["tests/test_app.py"] != without["tests/test_app.py"]


def test_add_on_words_are_words() -> None:
    """It finds an add-on by its names, not inside other words."""
    assert addons_named("the Docker HEALTHCHECK and compose.yaml") == {"use_docker"}
    assert addons_named("composed names, Hypothesis' HealthCheck") == set()
    assert addons_named("behind nginx") == {"use_nginx"}


def test_a_shared_option_shares_its_modules_that_do_not_name_it() -> None:
    """Only modules it may share, and only those that name none of its words, or that it
    lists as shared all the same."""
    shared = Shared(r"\bworker\b", [], modules=["*/tests/test_*.py"], also=["tests/test_page.py"])
    assert shared.shares("app/chat/tests/test_consumers.py", "a socket")
    assert not shared.shares("app/chat/tests/test_tasks.py", "the worker runs it")
    assert not shared.shares("tests/test_live.py", "a socket"), "not one it may share"
    assert shared.shares("tests/test_page.py", "the worker runs it")
    assert SHARED["asgi_server"].shares("app/core/tests/test_origin.py", "Origin checks")
    assert not SHARED["asgi_server"].shares("app/core/tests/test_ping.py", "Uvicorn pings")
    assert not SHARED["asgi_server"].shares("tests/test_browser.py", "a page")


@pytest.mark.parametrize("option", sorted(ADDONS))
def test_an_add_on_option_changes_only_what_modules_naming_it_read(
    option: str, render: Callable[..., Rendered], tmp_path: Path
) -> None:
    """Turning an add-on option over changes the keys of the modules that name it, only.

    This is the premise of the matrix's sharing: that the rest of the suite runs the same
    with the add-on on and off, so running it in one of the two tests both.
    """
    default = default_combination()[1]
    renders = [
        render(tmp_path / "one", default),
        render(tmp_path / "two", default | {option: not default[option]}),
    ]
    one, two = (module_keys(rendered) for rendered in renders)
    naming = {
        module
        for rendered in renders
        for module in module_keys(rendered)
        if option in addons_named((rendered.root / module).read_text(encoding="utf-8"))
    }
    assert naming, f"no test module names {option}: its own files go untested"
    for module in (one.keys() & two.keys()) - naming:
        assert one[module] == two[module], f"{module} reads what {option} changes"
    assert one.keys() ^ two.keys() <= naming, "a module only one of them has does not name it"


def test_the_modules_that_failed_are_read_from_junit(tmp_path: Path) -> None:
    """A module's outcome comes from its own test cases: one failure fails it, not the run."""
    junit = tmp_path / "junit.xml"
    junit.write_text(
        "<testsuites><testsuite>"
        '<testcase classname="tests.test_live" name="a"/>'
        '<testcase classname="tests.test_limits" name="b"><failure message="x"/></testcase>'
        '<testcase classname="pkg.core.tests.test_logs" name="c"><error message="y"/></testcase>'
        "</testsuite></testsuites>"
    )
    assert failed_modules(junit) == {"tests/test_limits.py", "pkg/core/tests/test_logs.py"}
    assert failed_modules(tmp_path / "missing.xml") == set()


def opposite() -> dict:
    """The combination furthest from the default: every option at another value."""
    return {
        name: values[-1] if values[0] == default_combination()[1][name] else values[0]
        for name, values in options(load_context()).items()
    }


@pytest.mark.parametrize("option", sorted(SHARED))
@pytest.mark.parametrize("base", ["default", "opposite"])
def test_a_shared_option_changes_only_the_files_it_names(
    option: str, base: str, render: Callable[..., Rendered], tmp_path: Path
) -> None:
    """Turning a shared option over changes its own files and the modules naming it only:
    the premise of running every other module with the option at its default alone."""
    shared = SHARED[option]
    values = default_combination()[1] if base == "default" else opposite()
    other = next(value for value in options(load_context())[option] if value != values[option])
    one = render(tmp_path / "one", values)
    two = render(tmp_path / "two", values | {option: other})
    changed = {
        name
        for name in set(one.files) | set(two.files)
        if not (one.root / name).exists()
        or not (two.root / name).exists()
        or (one.root / name).read_bytes() != (two.root / name).read_bytes()
    }
    assert changed, f"turning {option} over changes nothing"
    # An add-on's files are in the keys of the modules naming the add-on only.
    addon_files = [pattern for _, patterns in ADDONS.values() for pattern in patterns]
    listed = SUITE_INERT + addon_files + shared.files
    for name in changed - {n for n in changed if matches(n, listed)}:
        text = next(r.root / name for r in (one, two) if (r.root / name).exists()).read_text()
        assert is_test_module(name) and not shared.shares(name, text), (
            f"{name} changes with {option} but is neither a file SHARED lists for it nor a "
            "test module that runs with each value"
        )
