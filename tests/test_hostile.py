"""Answers with quotes, backslashes and non-ASCII render a valid project; bad slugs stop."""

import ast
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException
from slugify import slugify

from tests.conftest import Rendered, load_hook, ruff

pytestmark = pytest.mark.xdist_group("hostile")

HOSTILE = {
    "project_name": 'Zoë\'s "Café" \\ Chat',
    "description": "Says \"hi\" and 'bye' \\ to Zoë",
    "author_name": 'Seán O\'Brien "Bob" \\',
}


@pytest.fixture(scope="module")
def hostile(render: Callable[..., Rendered], tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    return render(tmp_path_factory.mktemp("render-hostile"), HOSTILE)


def test_slug_is_derived_from_the_name(hostile: Rendered) -> None:
    """It slugifies the hostile name into a valid package name for the folder and package."""
    assert hostile.slug == slugify(HOSTILE["project_name"], separator="_")
    assert load_hook("pre_gen_project").slug_problem(hostile.slug) is None
    assert (hostile.root / hostile.slug / "__init__.py").is_file()


def test_python_compiles(hostile: Rendered) -> None:
    """Every .py file compiles."""
    for name in hostile.files:
        if name.endswith(".py"):
            compile((hostile.root / name).read_bytes(), name, "exec")


def test_ruff_clean(hostile: Rendered) -> None:
    """The project passes ruff check and ruff format."""
    ruff(hostile.root)


def test_settings_hold_the_exact_name(hostile: Rendered) -> None:
    """settings.PROJECT_NAME is the name as typed."""
    tree = ast.parse((hostile.root / "config" / "settings.py").read_text(encoding="utf-8"))
    values = [
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "PROJECT_NAME" for t in node.targets)
    ]
    assert values == [HOSTILE["project_name"]]


def test_pyproject_holds_the_exact_answers(hostile: Rendered) -> None:
    """pyproject.toml parses and holds the description and author as typed."""
    project = tomllib.loads((hostile.root / "pyproject.toml").read_text(encoding="utf-8"))[
        "project"
    ]
    assert project["name"] == hostile.slug
    assert project["description"] == HOSTILE["description"]
    assert project["authors"][0]["name"] == HOSTILE["author_name"]


@pytest.mark.parametrize("slug", ["1bad", "bad-slug", "class", "config"])
def test_invalid_slug_is_refused(
    slug: str,
    render: Callable[..., Rendered],
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """It refuses the slug, names it on stderr and leaves nothing behind."""
    with pytest.raises(FailedHookException):
        render(tmp_path, {"project_slug": slug})
    assert list(tmp_path.iterdir()) == []
    assert repr(slug) in capfd.readouterr().err
