"""The hooks refuse bad slugs with a clear message, prune disabled files and write secrets."""

import stat
from pathlib import Path

import pytest

from tests.conftest import load_hook

pre = load_hook("pre_gen_project")
post = load_hook("post_gen_project")


@pytest.mark.parametrize("slug", ["chat_project", "a", "chat2", "x" * 50])
def test_accepts_valid_slug(slug: str) -> None:
    """It accepts a lowercase identifier of 1-50 characters."""
    assert pre.slug_problem(slug) is None


@pytest.mark.parametrize(
    ("slug", "why"),
    [
        ("1bad", "starts with a digit"),
        ("bad-slug", "has a hyphen"),
        ("Chat", "has a capital"),
        ("", "is empty"),
        ("x" * 51, "is too long"),
        ("café", "is not ASCII"),
        ("chat\n", "ends with a newline"),
    ],
)
def test_refuses_malformed_slug(slug: str, why: str) -> None:
    """It refuses a slug that is not a short lowercase ASCII identifier."""
    problem = pre.slug_problem(slug)
    assert problem is not None, why
    assert repr(slug) in problem


@pytest.mark.parametrize(
    "slug", ["class", "import", "json", "asyncio", "config", "django", "celery"]
)
def test_refuses_clashing_slug(slug: str) -> None:
    """It refuses a keyword, a standard-library module or a name the project imports."""
    problem = pre.slug_problem(slug)
    assert problem is not None
    assert "clashes" in problem


def test_main_exits_1_and_names_the_slug(capsys: pytest.CaptureFixture[str]) -> None:
    """It returns exit code 1 and prints why on stderr."""
    assert pre.main("bad-slug") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("ERROR: project_slug 'bad-slug' is not valid")


def test_main_exits_0_silently(capsys: pytest.CaptureFixture[str]) -> None:
    """It returns exit code 0 and prints nothing for a good slug."""
    assert pre.main("chat_project") == 0
    assert capsys.readouterr() == ("", "")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in ["presence/consumers.py", "presence/tests/test_x.py", "tokens.py", "keep.py"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("", encoding="utf-8")
    return tmp_path


def test_remove_disabled_prunes_only_options_that_are_off(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It deletes the files and folders of each option that is off, and nothing else."""
    monkeypatch.setattr(
        post,
        "PATHS_BY_OPTION",
        {"use_presence": ["presence", "docs/presence.md"], "auth_jwt": ["tokens.py"]},
    )
    post.remove_disabled(tree, {"use_presence": False, "auth_jwt": True})
    assert not (tree / "presence").exists()
    assert (tree / "tokens.py").exists()
    assert (tree / "keep.py").exists()


def test_remove_disabled_treats_a_missing_option_as_off(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It removes the files of an option the answers do not mention."""
    monkeypatch.setattr(post, "PATHS_BY_OPTION", {"auth_jwt": ["tokens.py"]})
    post.remove_disabled(tree, {})
    assert not (tree / "tokens.py").exists()


EXAMPLE = """\
# Copy to .env; every variable is documented here.
DJANGO_DEBUG=false
DJANGO_SECRET_KEY=change-me

REDIS_URL=redis://127.0.0.1:6379/0
"""


def write_example(root: Path) -> None:
    (root / ".env.example").write_text(EXAMPLE, encoding="utf-8")


def test_write_env_replaces_secrets_and_keeps_the_rest(tmp_path: Path) -> None:
    """It writes .env with a new secret key and every other line as in .env.example."""
    write_example(tmp_path)
    post.write_env(tmp_path)
    lines = (tmp_path / ".env").read_text(encoding="utf-8").splitlines()
    expected = EXAMPLE.splitlines()
    assert len(lines) == len(expected)
    for line, original in zip(lines, expected, strict=True):
        if original.startswith("DJANGO_SECRET_KEY="):
            secret = line.removeprefix("DJANGO_SECRET_KEY=")
            assert line.startswith("DJANGO_SECRET_KEY=")
            assert secret != "change-me"
            assert len(secret) >= 50
        else:
            assert line == original


def test_write_env_is_private_and_new_each_time(tmp_path: Path) -> None:
    """It makes .env readable by its owner only, with a different secret each time."""
    write_example(tmp_path)
    post.write_env(tmp_path)
    first = (tmp_path / ".env").read_text(encoding="utf-8")
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600
    post.write_env(tmp_path)
    assert (tmp_path / ".env").read_text(encoding="utf-8") != first


def test_post_main_prunes_and_writes_env(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its main prunes disabled options and writes .env."""
    monkeypatch.setattr(post, "PATHS_BY_OPTION", {"use_presence": ["presence"]})
    write_example(tree)
    post.main(tree, {"use_presence": False})
    assert not (tree / "presence").exists()
    assert (tree / ".env").is_file()
