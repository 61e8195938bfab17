"""Each combination's project works in an environment built only from what it declares."""

import contextlib
import fcntl
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.conftest import (
    CACHE,
    GENERATED_MODULES,
    MODULES_RUN,
    SUITE_PASSED,
    ProjectEnv,
    Rendered,
    require_or_skip,
    run_id,
)
from tests.matrix import Combination, combination_id, combinations, default_combination
from tests.suite_keys import SHARED, module_keys, shared_keys

# How long a verdict waits for its combination's run to end on another worker: the longest
# a run may take (suite_run's own timeout, 1200 s) and the runs queued before it.
VERDICT_WAIT = 3600


def suite_run(
    project_env: ProjectEnv,
    workdir: Path,
    env: dict[str, str] | None = None,
    tests: Sequence[str] = (),
) -> dict:
    """Runs the generated suite as its README says, or what ``tests`` selects (pytest node
    ids, ``--ignore=`` options); returns its seconds per test module.

    Fails the test if the suite fails, and skips it (a failure under CI=true) if the suite
    skipped anything: a skip there is a check that did not run.
    """
    junit = workdir / "junit.xml"
    out = project_env.run(
        "-m", "pytest", "-p", "no:cacheprovider", "-q", f"--junitxml={junit}", *tests,
        timeout=1200, env=env,
    )  # fmt: skip
    summary = out.strip().splitlines()[-1]
    if re.search(r"\d+ (skipped|xfailed|deselected)", summary):
        skipped = [line for line in out.splitlines() if line.startswith("SKIPPED")]
        require_or_skip(f"the generated suite skipped tests: {summary}\n" + "\n".join(skipped))
    seconds: dict[str, float] = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        # Function tests, so the class name is the module (tests.test_live).
        module = case.get("classname", "?")
        seconds[module] = seconds.get(module, 0.0) + float(case.get("time", 0))
    return seconds


def failed_modules(junit: Path) -> set[str]:
    """Returns the test modules (paths) with a failure or error in ``junit``, a JUnit XML."""
    if not junit.exists():
        return set()
    return {
        case.get("classname", "").replace(".", "/") + ".py"
        for case in ElementTree.parse(junit).iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    }


@pytest.fixture
def keys(combination: str, keys_of: Callable[[Combination], dict[str, str]]) -> dict[str, str]:
    """The key of each test module of ``combination``'s project (tests/suite_keys.py)."""
    return keys_of(combinations()[combination])


@pytest.fixture(scope="session")
def keys_of(
    render_combination: Callable[[str], Rendered],
) -> Callable[[Combination], dict[str, str]]:
    """The module keys of a combination, found once per worker: for each shared option away
    from its default, the modules it shares take their keys from the combination with the
    option at its default, whose keys are found the same way."""
    found: dict[str, dict[str, str]] = {}
    default = default_combination()[1]

    def keys_of(values: Combination) -> dict[str, str]:
        name = combination_id(values)
        if name not in found:
            rendered = render_combination(name)
            keys = module_keys(rendered)
            for option in SHARED:
                if values[option] != default[option]:
                    base = keys_of(values | {option: default[option]})
                    keys = shared_keys(keys, rendered, base, option)
            found[name] = keys
        return found[name]

    return keys_of


def runs_dir(config: pytest.Config) -> Path:
    """Where this run's workers leave the outcome of each module key and combination."""
    runs = CACHE / "suites" / run_id(config)
    runs.mkdir(parents=True, exist_ok=True)
    return runs


@pytest.fixture
def _ran(combination: str, request: pytest.FixtureRequest) -> Iterator[None]:
    """Marks ``combination``'s run as over, however it ended (its fixtures failing too), for
    its verdict, which may run on another worker before or while this one runs."""
    yield
    (runs_dir(request.config) / f"{combination}.ran").touch()


def test_generated_suite_runs(
    _ran: None,
    keys: dict[str, str],
    project_env: ProjectEnv,
    combination: str,
    record_property,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    """Runs the modules of the generated suite that no other combination has run or is
    running, each once per set of files it reads (tests/suite_keys.py), and passes if they
    pass. It waits for no other worker: test_generated_suite_passes gives the verdict."""
    runs = runs_dir(request.config)
    (runs / f"{combination}.keys.json").write_text(json.dumps(keys), encoding="utf-8")
    with contextlib.ExitStack() as held:
        mine = []
        for module, key in keys.items():
            lock = held.enter_context((runs / f"{key}.lock").open("w"))
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # another worker is running it
            if not (runs / f"{key}.json").exists():
                mine.append(module)
        if mine:
            outcomes = {
                module: {"outcome": "failed", "combination": combination} for module in mine
            }
            try:
                record_property(GENERATED_MODULES, suite_run(project_env, tmp_path, tests=mine))
                failed = set()
            except pytest.skip.Exception as skipped:
                failed = set()
                for outcome in outcomes.values():
                    outcome |= {"outcome": "skipped", "reason": str(skipped)}
                raise
            except BaseException:
                failed = (failed_modules(tmp_path / "junit.xml") & set(mine)) or set(mine)
                raise
            finally:
                for module, outcome in outcomes.items():
                    if outcome["outcome"] == "failed" and module not in failed:
                        outcome["outcome"] = "passed"
                    (runs / f"{keys[module]}.json").write_text(json.dumps(outcome))
    record_property(MODULES_RUN, (len(mine), len(keys)))


def check_verdict(runs: Path, combination: str, wait: float = VERDICT_WAIT) -> None:
    """Fails (or skips) unless every module of ``combination``'s suite passed in the run
    ``runs`` records, in whichever combination's run it ran; waits up to ``wait`` seconds
    for that combination's run to end, and for any module run still going."""
    ran = runs / f"{combination}.ran"
    deadline = time.monotonic() + wait
    while not ran.exists():  # its run is queued or running on another worker
        if time.monotonic() > deadline:
            pytest.fail(f"{combination}'s run did not end within {wait} s", pytrace=False)
        time.sleep(0.2)
    found_keys = runs / f"{combination}.keys.json"
    if not found_keys.exists():
        pytest.fail(
            f"{combination}'s run failed before it ran a module: see "
            f"test_generated_suite_runs[{combination}]",
            pytrace=False,
        )
    keys: dict[str, str] = json.loads(found_keys.read_text(encoding="utf-8"))
    for key in dict.fromkeys(keys.values()):
        with (runs / f"{key}.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when its run has written the outcome
    for module, key in keys.items():
        outcome = runs / f"{key}.json"
        if not outcome.exists():
            pytest.fail(f"{module}: the worker that ran it stopped before it ended", pytrace=False)
        found = json.loads(outcome.read_text(encoding="utf-8"))
        if found["outcome"] == "skipped":
            require_or_skip(found["reason"])
        if found["outcome"] != "passed":
            pytest.fail(f"{module} failed in {found['combination']}'s run of it", pytrace=False)


@pytest.mark.verdict
def test_generated_suite_passes(
    combination: str, record_property, request: pytest.FixtureRequest
) -> None:
    """The generated project's own test suite passes: every module of it, in whichever
    combination's run it ran. Scheduled after every run (tests/conftest.py), so that the
    worker that gives the verdicts is the only one that waits for others."""
    check_verdict(runs_dir(request.config), combination)
    record_property(SUITE_PASSED, combination)


def fails(message: str) -> pytest.RaisesExc:
    return pytest.raises(pytest.fail.Exception, match=re.escape(message))


def test_a_verdict_names_what_failed_or_never_ran(tmp_path: Path) -> None:
    """A verdict passes only when every module of the combination passed somewhere, and
    otherwise names the module and the run, or the run that never got to the modules."""
    keys = {"tests/test_a.py": "ka", "tests/test_b.py": "kb"}
    (tmp_path / "c.keys.json").write_text(json.dumps(keys), encoding="utf-8")
    with fails("c's run did not end within 0.3 s"):
        check_verdict(tmp_path, "c", wait=0.3)
    (tmp_path / "c.ran").touch()
    with fails("test_a.py: the worker that ran it stopped"):
        check_verdict(tmp_path, "c")
    for key, outcome in (("ka", "passed"), ("kb", "failed")):
        (tmp_path / f"{key}.json").write_text(
            json.dumps({"outcome": outcome, "combination": "base"}), encoding="utf-8"
        )
    with fails("test_b.py failed in base's run of it"):
        check_verdict(tmp_path, "c")
    (tmp_path / "kb.json").write_text(json.dumps({"outcome": "passed", "combination": "c"}))
    check_verdict(tmp_path, "c")
    (tmp_path / "d.ran").touch()
    with fails("d's run failed before it ran a module"):
        check_verdict(tmp_path, "d")
