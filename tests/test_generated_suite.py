"""Each combination's project works in an environment built only from what it declares."""

import contextlib
import fcntl
import json
import re
from collections.abc import Callable, Sequence
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


def test_generated_suite_passes(
    keys: dict[str, str],
    project_env: ProjectEnv,
    combination: str,
    record_property,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    """The generated project's own test suite passes: every module, once per set of files it
    reads (tests/suite_keys.py)."""
    runs = CACHE / "suites" / run_id(request.config)
    runs.mkdir(parents=True, exist_ok=True)
    elsewhere: list[str] = []
    with contextlib.ExitStack() as held:
        mine = []
        for module, key in keys.items():
            lock = held.enter_context((runs / f"{key}.lock").open("w"))
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                elsewhere.append(key)  # another worker is running it
                continue
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
    for key in elsewhere:
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
    record_property(MODULES_RUN, (len(mine), len(keys)))
    record_property(SUITE_PASSED, combination)
