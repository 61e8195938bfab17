"""Refuses answers that would render a broken project, with a message saying why."""

import keyword
import re
import sys

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
# Names the generated project already uses or imports at top level.
TAKEN = {"config", "django", "channels", "daphne", "redis", "celery", "tests", "test", "static"}


def slug_problem(slug: str) -> str | None:
    """Returns why ``slug`` cannot name the project's package, or None when it can."""
    if not SLUG_PATTERN.fullmatch(slug):
        return (
            f"project_slug {slug!r} is not valid: use 1-50 lowercase ASCII letters, "
            "digits and underscores, starting with a letter (for example 'chat_project')."
        )
    if keyword.iskeyword(slug) or slug in sys.stdlib_module_names or slug in TAKEN:
        return (
            f"project_slug {slug!r} clashes with a Python keyword or a module the project "
            "imports; choose another name (for example 'chat_project')."
        )
    return None


def main(slug: str) -> int:
    problem = slug_problem(slug)
    if problem:
        print(f"ERROR: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main("{{ cookiecutter.project_slug }}"))
