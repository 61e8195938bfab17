"""The template's own CI files are valid."""

import shutil

from tests.conftest import REPO, actionlint, require_or_skip, run, template_tool


def test_template_workflow_passes_actionlint() -> None:
    """The template's GitHub workflow passes actionlint."""
    actionlint([REPO / ".github" / "workflows" / "ci.yml"], REPO)


def test_template_code_passes_ruff() -> None:
    """The template's own code (tests, hooks, benchmarks) passes ruff, as `make lint` runs it."""
    run([template_tool("ruff"), "check", "--no-cache", "."], cwd=REPO, timeout=120)
    run([template_tool("ruff"), "format", "--no-cache", "--check", "."], cwd=REPO, timeout=120)


def test_ci_script_passes_shellcheck() -> None:
    """.ci/run passes shellcheck."""
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        require_or_skip("shellcheck is not installed (apt-get install shellcheck)")
    run([shellcheck, REPO / ".ci" / "run"], cwd=REPO, timeout=60)


def test_template_folder_holds_no_ignored_files() -> None:
    """The project folder holds no caches or other git-ignored files, which would render."""
    if shutil.which("git") is None or not (REPO / ".git").exists():
        require_or_skip("not a git checkout: cannot tell which files git ignores")
    listing = ["git", "ls-files", "--others", "--ignored", "--exclude-standard", "--directory"]
    out = run([*listing, "--", "{{cookiecutter.project_slug}}"], cwd=REPO, timeout=60)
    assert not out.strip(), f"remove these from the template before rendering:\n{out}"
