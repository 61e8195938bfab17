"""Each combination's project works in an environment built only from what it declares."""

import fcntl
import fnmatch
import hashlib

import pytest

from tests.conftest import CACHE, SUITE_PASSED, SUITE_REUSED, ProjectEnv, Rendered

# Files the generated suite never reads or runs: two combinations that differ only in
# these run the very same suite, so it runs once per run for both.
SUITE_INERT = ["README.md", ".github/*", "Dockerfile", ".dockerignore", "compose.yaml", ".env"]


def test_env_holds_only_what_the_project_declares(project_env: ProjectEnv) -> None:
    """The environment sees neither system site-packages nor the template's own tools."""
    config = (project_env.env_dir / "pyvenv.cfg").read_text(encoding="utf-8")
    assert "include-system-site-packages = false" in config
    project_env.run("-c", "import importlib.util as u; assert u.find_spec('cookiecutter') is None")


def test_manage_check(project_env: ProjectEnv) -> None:
    """Django's system checks pass."""
    project_env.run("manage.py", "check", "--fail-level", "WARNING")


def test_no_missing_migrations(project_env: ProjectEnv) -> None:
    """The models match the migrations the project ships."""
    project_env.run("manage.py", "makemigrations", "--check", "--dry-run")


def suite_key(rendered: Rendered) -> str:
    """Returns a hash of every file the generated suite may read or run."""
    digest = hashlib.sha256()
    for name in rendered.files:
        if any(fnmatch.fnmatch(name, pattern) for pattern in SUITE_INERT):
            continue
        digest.update(name.encode() + b"\0" + (rendered.root / name).read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def test_generated_suite_passes(
    project_env: ProjectEnv,
    rendered: Rendered,
    combination: str,
    record_property,
    request: pytest.FixtureRequest,
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
            project_env.run("-m", "pytest", "-p", "no:cacheprovider", "-q", timeout=1200)
            passed.write_text(combination, encoding="utf-8")
    record_property(SUITE_PASSED, combination)
