"""Jinja filters the template's files use when rendered."""

from jinja2.ext import Extension

_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def python_literal(value: str) -> str:
    """Returns ``value`` as a Python string literal in the quotes ruff format picks."""
    quote = "'" if value.count('"') > value.count("'") else '"'
    out = []
    for char in value:
        if char == quote:
            out.append("\\" + char)
        elif char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return quote + "".join(out) + quote


class PythonLiteralExtension(Extension):
    """Adds the ``pyliteral`` filter: ``{{ cookiecutter.project_name|pyliteral }}``."""

    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["pyliteral"] = python_literal
