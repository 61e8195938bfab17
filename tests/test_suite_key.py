"""Two combinations share one generated-suite run only when the suite's files are identical."""

from pathlib import Path

from tests.conftest import Rendered
from tests.test_generated_suite import suite_key


def project(root: Path, files: dict[str, str]) -> Rendered:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return Rendered(root=root, context={}, files=sorted(files))


def test_inert_files_do_not_change_the_key(tmp_path: Path) -> None:
    """It gives the same key to projects that differ only in docs, CI and container files."""
    base = {"app.py": "x = 1\n", "tests/test_app.py": "def test(): pass\n"}
    one = project(tmp_path / "one", {**base, "README.md": "a", "Dockerfile": "FROM a"})
    two = project(tmp_path / "two", {**base, "README.md": "b", ".github/workflows/ci.yml": "b"})
    assert suite_key(one) == suite_key(two)


def test_any_other_difference_changes_the_key(tmp_path: Path) -> None:
    """It gives different keys when code, tests, scripts or settings differ."""
    base = {"app.py": "x = 1\n", "bin/serve": "daphne\n"}
    keys = {
        suite_key(project(tmp_path / "a", base)),
        suite_key(project(tmp_path / "b", {**base, "app.py": "x = 2\n"})),
        suite_key(project(tmp_path / "c", {**base, "bin/serve": "uvicorn\n"})),
        suite_key(project(tmp_path / "d", {**base, "deploy/nginx/site.conf": "server {}\n"})),
    }
    assert len(keys) == 4
