"""Renders each combination once per worker, builds its environment, and sums up the run."""

import fcntl
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest
from cookiecutter.main import cookiecutter
from xdist.scheduler import LoadGroupScheduling

from tests.matrix import REPO, Combination, combinations
from tests.pythons import version_of
from tests.suite_keys import run_rank

CACHE = REPO / ".cache"
os.environ.setdefault("UV_CACHE_DIR", str(CACHE / "uv"))
# Variables that would make a subprocess use the template's environment instead of its own.
LEAKY_VARIABLES = ("VIRTUAL_ENV", "DJANGO_SETTINGS_MODULE", "PYTHONPATH", "PYTHONHOME")
# Variables that make every process of a project slower than on a developer's machine.
# PYTHONDONTWRITEBYTECODE (set on some CI machines) with envs that uv builds without
# bytecode makes each process compile Django and its stack again: 3.4 s of CPU to start a
# Daphne against 1.0 s with the bytecode written once (docs/benchmarks/test-suite.md).
SLOWING_VARIABLES = ("PYTHONDONTWRITEBYTECODE",)
RENDERED, SUITE_PASSED = "cc_rendered", "cc_suite_passed"
# (test modules a combination ran, test modules its suite has): the others ran elsewhere.
MODULES_RUN = "cc_modules_run"
# A generated suite's seconds per test module, recorded by the test that ran it.
GENERATED_MODULES = "cc_generated_modules"
SLOWEST_ROWS = 8
# Modules that run a whole generated suite of their own, or a long wait in one: started
# first, each on a worker.
LONG_MODULES = ("tests/test_newest_python.py", "tests/test_postgres.py", "tests/test_outage.py")
# The verdicts on the combinations' suites, which wait for every worker's runs: one worker
# gives them all, last.
VERDICTS = "tests/test_generated_suite.py::test_generated_suite_passes["


def require_or_skip(reason: str) -> NoReturn:
    """Skips the test with ``reason``, or fails it under CI, where nothing may be skipped."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"not skipped under CI=true: {reason}")
    pytest.skip(reason)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--combination",
        action="append",
        default=[],
        metavar="ID",
        help="run the per-combination tests for this id only (repeatable); "
        "`python -m tests.matrix` lists the ids",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "combination: a test of one rendered combination")
    config.addinivalue_line("markers", "verdict: waits for other workers; scheduled last")
    unknown = set(config.getoption("combination")) - set(combinations())
    if unknown:
        raise pytest.UsageError(f"unknown --combination {sorted(unknown)}: see tests/matrix.py")
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(Summary(), "cookiecutter-channels-summary")


class Summary:
    """Counts, in the process that reports, what passed on any worker, and prints a summary.

    Its table gives the slowest combinations (every test of one, its generated suite
    included), template modules and generated-suite modules (summed over combinations);
    its last line, the last of the run, the counts and the wall time.
    """

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.passed: dict[str, set[str]] = {
            RENDERED: set(),
            SUITE_PASSED: set(),
        }
        self.modules_run = [0, 0]
        self.by_combination: dict[str, float] = {}
        self.by_module: dict[str, float] = {}
        self.by_generated_module: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        found = re.search(r"\[([^\[\]]+)\]$", report.nodeid)
        if found and found.group(1) in combinations():
            add(self.by_combination, found.group(1), report.duration)
        else:
            add(self.by_module, report.nodeid.split("::", 1)[0], report.duration)
        if report.when == "call" and report.passed:
            for name, value in report.user_properties:
                if name in self.passed:
                    self.passed[name].add(value)
                elif name == MODULES_RUN:
                    ran, total = value
                    self.modules_run = [self.modules_run[0] + ran, self.modules_run[1] + total]
                elif name == GENERATED_MODULES:
                    for module, seconds in value.items():
                        add(self.by_generated_module, module, seconds)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        # After pytest's own summary and stats line, so that it is the run's last line.
        terminalreporter = config.pluginmanager.get_plugin("terminalreporter")
        if terminalreporter is None:
            return
        write = terminalreporter.write_line
        for title, seconds in (
            ("combination (all its tests)", self.by_combination),
            ("template module (outside combinations)", self.by_module),
            ("generated module (sum over suites)", self.by_generated_module),
        ):
            slowest = sorted(seconds.items(), key=lambda item: -item[1])[:SLOWEST_ROWS]
            if slowest:
                write(f"{'seconds':>8}  slowest {title}")
                for name, value in slowest:
                    write(f"{value:8.1f}  {name}")
        write(
            f"cookiecutter-channels: {len(self.passed[RENDERED])} combinations rendered, "
            f"{len(self.passed[SUITE_PASSED])} generated suites passed "
            f"(running {self.modules_run[0]} of their {self.modules_run[1]} test modules: each "
            "once per set of files it reads), "
            f"wall time {time.monotonic() - self.started:.1f}s"
        )


def add(totals: dict[str, float], key: str, seconds: float) -> None:
    totals[key] = totals.get(key, 0.0) + seconds


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "combination" not in metafunc.fixturenames:
        return
    wanted = metafunc.config.getoption("combination")
    metafunc.parametrize(
        "combination",
        [
            pytest.param(
                combination_id,
                id=combination_id,
                marks=[pytest.mark.combination, pytest.mark.xdist_group(combination_id)],
            )
            # Combinations with every add-on on come first, those with a shared option away
            # from its default later: the others run little or nothing of their own
            # (tests/suite_keys.py, run_rank).
            for combination_id in sorted(
                combinations(), key=lambda found: run_rank(combinations()[found])
            )
            if not wanted or combination_id in wanted
        ],
    )


class CombinationScheduling(LoadGroupScheduling):
    """``--dist loadgroup`` that keeps each combination's tests on one worker on any pytest.

    xdist groups by an ``@group`` suffix it writes into node ids, which pytest 9.2 no longer
    lets it write (pytest-dev/pytest-xdist#1386): every test then runs wherever, and each
    worker would render and build the same combination again. This scheduler reads the
    combination from the test id instead, and keeps every other module on one worker, so
    that module-scoped renders (hostile input, newest Python) happen once. The verdicts on
    the suites (VERDICTS) go to one worker, after everything else.
    """

    def _split_scope(self, nodeid: str) -> str:
        if nodeid.startswith(VERDICTS):
            return VERDICTS
        if nodeid.rfind("@") > nodeid.rfind("]"):
            return super()._split_scope(nodeid)
        found = re.search(r"\[([^\[\]]+)\]$", nodeid)
        if found and found.group(1) in combinations():
            return found.group(1)
        return nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") == "loadgroup":
        # Hand out work in collection order (see pytest_collection_modifyitems), not biggest first.
        config.option.loadscopereorder = False
        return CombinationScheduling(config, log)
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Suites as long as a combination's: start them first, each on a worker of its own; the
    # verdicts, which wait for the others, come last.
    items.sort(
        key=lambda item: (
            item.get_closest_marker("verdict") is not None,
            item.nodeid.split("::", 1)[0] not in LONG_MODULES,
        )
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport:
    report = yield
    # Under CI a skip hides a missing check: any skip, not only require_or_skip, fails.
    if report.skipped and not hasattr(report, "wasxfail") and os.environ.get("CI") == "true":
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which must run everything: {report.longrepr}"
    return report


@dataclass
class Rendered:
    """A project rendered from the template, with the files it had right after rendering."""

    root: Path
    context: dict[str, Any] = field(repr=False)
    files: list[str] = field(default_factory=list, repr=False)

    @property
    def slug(self) -> str:
        return self.root.name


@pytest.fixture(scope="session")
def cookiecutter_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cookiecutter config that ignores the user's ~/.cookiecutterrc and replay files."""
    home = tmp_path_factory.mktemp("cookiecutter-home")
    config = home / "config.yaml"
    config.write_text(
        f"cookiecutters_dir: {home / 'templates'}\nreplay_dir: {home / 'replay'}\n",
        encoding="utf-8",
    )
    return config


@pytest.fixture(scope="session")
def render(cookiecutter_config: Path) -> Callable[..., Rendered]:
    """Renders the template into an empty directory with ``extra_context``, like --no-input."""

    def render(output_dir: Path, extra_context: dict[str, Any] | None = None) -> Rendered:
        output_dir.mkdir(parents=True, exist_ok=True)
        root = Path(
            cookiecutter(
                str(REPO),
                no_input=True,
                extra_context=extra_context or {},
                output_dir=str(output_dir),
                config_file=str(cookiecutter_config),
            )
        )
        files = sorted(
            path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file()
        )
        return Rendered(root=root, context=dict(extra_context or {}), files=files)

    return render


@pytest.fixture(scope="session")
def render_combination(
    render: Callable[..., Rendered], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Rendered]:
    """Renders a combination by id, once per worker."""
    renders: dict[str, Rendered] = {}

    def render_combination(combination: str) -> Rendered:
        if combination not in renders:
            values: Combination = combinations()[combination]
            directory = tmp_path_factory.mktemp(f"render-{combination}")
            renders[combination] = render(directory, values)
        return renders[combination]

    return render_combination


@pytest.fixture
def rendered(combination: str, render_combination: Callable[[str], Rendered]) -> Rendered:
    """The project rendered for ``combination``, once per run (xdist keeps it on one worker)."""
    return render_combination(combination)


def clean_environ(
    env_dir: Path | None = None, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """Returns this process's environment without what would leak into a project's tools."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if name not in (*LEAKY_VARIABLES, *SLOWING_VARIABLES) and not name.startswith("PYTEST_")
    }
    if env_dir is not None:
        environ["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{environ.get('PATH', '')}"
    return environ | (extra or {})


def run(
    command: list[str | Path],
    cwd: Path,
    timeout: float,
    env_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> str:
    """Runs ``command`` and returns its output; fails the test with the tail if it fails."""
    started = time.monotonic()
    try:
        result = subprocess.run(
            [str(part) for part in command],
            cwd=cwd,
            env=clean_environ(env_dir, extra_env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        output = (error.stdout or b"").decode(errors="replace")
        pytest.fail(f"{command} timed out after {timeout}s:\n{tail(output)}", pytrace=False)
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited {result.returncode} "
            f"after {time.monotonic() - started:.1f}s in {cwd}:\n{tail(result.stdout)}",
            pytrace=False,
        )
    return result.stdout


def tail(output: str, lines: int = 80) -> str:
    """Returns the last ``lines`` lines of ``output``."""
    return "\n".join(output.splitlines()[-lines:])


def run_id(config: pytest.Config) -> str:
    """Returns an id shared by every xdist worker of this run (this process's without xdist)."""
    return getattr(config, "workerinput", {}).get("testrunuid") or f"pid-{os.getpid()}"


def lock_env_dir(project: Path, version: tuple[int, int]) -> Path:
    """Returns where the env of ``project``'s requirements-dev.lock on Python ``version`` lives:
    combinations with the same lock share it."""
    lock = (project / "requirements-dev.lock").read_bytes()
    return CACHE / "envs" / f"{hashlib.sha256(lock).hexdigest()[:16]}-py{version[0]}.{version[1]}"


def build_env(project: Path, python: str, run_key: str) -> Path:
    """Returns the Python of a virtualenv holding exactly ``project``'s requirements-dev.lock.

    The first test of run ``run_key`` that asks for a lock and Python builds it afresh while
    the others, on any worker, wait; ``.built`` names the run that finished it. The project
    itself is not installed: its suite, manage.py and bin/serve run from its directory.
    """
    version = version_of(Path(python))
    if version is None:
        pytest.fail(f"{python} does not run", pytrace=False)
    env_dir = lock_env_dir(project, version)
    env_dir.parent.mkdir(parents=True, exist_ok=True)
    built = env_dir / ".built"
    with (env_dir.parent / f"{env_dir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not built.exists() or built.read_text(encoding="utf-8") != run_key:
            sync_env(project, env_dir, python)
            built.write_text(run_key, encoding="utf-8")
    return env_dir / "bin" / "python"


def sync_env(project: Path, env_dir: Path, python: str) -> None:
    """Creates ``env_dir`` anew with ``python`` and installs requirements-dev.lock into it."""
    uv = template_tool("uv")
    shutil.rmtree(env_dir, ignore_errors=True)
    run([uv, "venv", "--quiet", "--python", python, env_dir], cwd=project, timeout=120)
    sync = [
        uv,
        "pip",
        "sync",
        "--quiet",
        "--require-hashes",
        "--python",
        env_dir / "bin" / "python",
    ]
    run([*sync, "requirements-dev.lock"], cwd=project, timeout=900)


@dataclass
class ProjectEnv:
    """A rendered project and the virtualenv built for it."""

    project: Path
    python: Path

    @property
    def env_dir(self) -> Path:
        return self.python.parent.parent

    def run(self, *args: str, timeout: float = 300, env: dict[str, str] | None = None) -> str:
        """Runs the env's Python with ``args`` in the project directory (``env`` added)."""
        return run(
            [self.python, *args],
            cwd=self.project,
            timeout=timeout,
            env_dir=self.env_dir,
            extra_env=env,
        )


@pytest.fixture(scope="session")
def _envs() -> dict[str, ProjectEnv | BaseException]:
    return {}


@pytest.fixture
def project_env(
    combination: str,
    rendered: Rendered,
    _envs: dict[str, ProjectEnv | BaseException],
    request: pytest.FixtureRequest,
) -> ProjectEnv:
    """The env of ``combination``'s lock on the template's Python: built once, its failure
    kept."""
    if combination not in _envs:
        try:
            python = build_env(rendered.root, sys.executable, run_id(request.config))
            _envs[combination] = ProjectEnv(rendered.root, python)
        except BaseException as error:
            _envs[combination] = error
            raise
    found = _envs[combination]
    if isinstance(found, BaseException):
        pytest.fail(f"building the environment of {combination} failed earlier", pytrace=False)
    return found


def load_hook(name: str) -> Any:
    """Imports hooks/<name>.py as a module, without running its ``__main__`` block."""
    path = REPO / "hooks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"hook_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def template_tool(name: str) -> str:
    """Returns a tool installed in the template's environment (ruff, actionlint)."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run `make test`, which installs it", pytrace=False)
    return found


def actionlint(workflows: list[Path], cwd: Path) -> None:
    """Fails the test with actionlint's findings on ``workflows``; wants shellcheck too."""
    assert workflows, f"no workflow files under {cwd}"
    run([template_tool("actionlint"), "-no-color", *workflows], cwd=cwd, timeout=120)
    if shutil.which("shellcheck") is None:
        require_or_skip("actionlint passed without shellcheck; install it to check run: scripts")


def ruff(project: Path) -> None:
    """Fails the test unless ``project`` passes ruff check and ruff format with its config."""
    config = project / "pyproject.toml"
    ruff = template_tool("ruff")
    run(
        [ruff, "check", "--no-cache", "--output-format", "concise", "--config", config, "."],
        cwd=project,
        timeout=120,
    )
    run(
        [ruff, "format", "--no-cache", "--config", config, "--diff", "."], cwd=project, timeout=120
    )
