"""Each combination's project works in an environment built only from what it declares."""

import fcntl
import fnmatch
import hashlib
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.conftest import (
    CACHE,
    GENERATED_MODULES,
    SUITE_PASSED,
    SUITE_REUSED,
    ProjectEnv,
    Rendered,
    require_or_skip,
)

# Files the generated suite never reads or runs: two combinations that differ only in
# these run the very same suite, so it runs once per run for both.
SUITE_INERT = ["README.md", ".github/*", "Dockerfile", ".dockerignore", "compose.yaml", ".env"]


def test_env_holds_only_what_the_project_declares(project_env: ProjectEnv) -> None:
    """The environment sees neither system site-packages nor the template's own tools."""
    config = (project_env.env_dir / "pyvenv.cfg").read_text(encoding="utf-8")
    assert "include-system-site-packages = false" in config
    project_env.run("-c", "import importlib.util as u; assert u.find_spec('cookiecutter') is None")


def suite_key(rendered: Rendered) -> str:
    """Returns a hash of every file the generated suite may read or run."""
    digest = hashlib.sha256()
    for name in rendered.files:
        if any(fnmatch.fnmatch(name, pattern) for pattern in SUITE_INERT):
            continue
        digest.update(name.encode() + b"\0" + (rendered.root / name).read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def suite_run(
    project_env: ProjectEnv, workdir: Path, env: dict[str, str] | None = None, tests: tuple = ()
) -> dict:
    """Runs the generated suite as its README says (or only ``tests``, pytest node ids);
    returns its seconds per test module.

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


def test_generated_suite_passes(
    project_env: ProjectEnv,
    rendered: Rendered,
    combination: str,
    record_property,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    """The generated project's own test suite passes (once per set of identical files)."""
    run_id = getattr(request.config, "workerinput", {}).get("testrunuid", "local")
    runs = CACHE / "suites" / run_id
    runs.mkdir(parents=True, exist_ok=True)
    key = suite_key(rendered)
    with (runs / f"{key}.lock").open("w") as lock:
        # Another worker running the same files holds the lock: wait for its result.
        fcntl.flock(lock, fcntl.LOCK_EX)
        passed = runs / f"{key}.passed"
        if passed.exists():
            record_property(SUITE_REUSED, combination)
        else:
            record_property(GENERATED_MODULES, suite_run(project_env, tmp_path))
            passed.write_text(combination, encoding="utf-8")
    record_property(SUITE_PASSED, combination)
