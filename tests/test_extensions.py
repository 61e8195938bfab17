"""The pyliteral filter turns any string into the Python literal ruff format would write."""

import ast
import subprocess

import pytest

from local_extensions import python_literal
from tests.conftest import template_tool

HOSTILE = [
    "Chat Project",
    'Zoë\'s "Café" \\ Chat',
    "it's",
    'say "hi"',
    "'\"'",
    '"\'"',
    "back\\slash\\",
    "tab\tnew\nline\rcr",
    "nul\x00bell\x07del\x7f",
    "",
    "🙂 ünïcödé",
    '"""',
    "'''",
    "{{ cookiecutter.project_name }}",
    "\\N{BULLET} \\u00e9",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_literal_round_trips(value: str) -> None:
    """It returns a literal that evaluates back to the input."""
    assert ast.literal_eval(python_literal(value)) == value


def test_ruff_format_keeps_literals() -> None:
    """ruff format leaves every literal it returns unchanged."""
    source = "".join(f"NAME_{n} = {python_literal(value)}\n" for n, value in enumerate(HOSTILE))
    result = subprocess.run(
        [template_tool("ruff"), "format", "--isolated", "--diff", "--stdin-filename", "x.py", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
