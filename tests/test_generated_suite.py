"""Each combination's project works in an environment built only from what it declares."""

from tests.conftest import SUITE_PASSED, ProjectEnv


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


def test_generated_suite_passes(
    project_env: ProjectEnv, combination: str, record_property
) -> None:
    """The generated project's own test suite passes."""
    project_env.run("-m", "pytest", "-p", "no:cacheprovider", "-q", timeout=1200)
    record_property(SUITE_PASSED, combination)
