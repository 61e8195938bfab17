"""Removes the files of options that are off and writes a .env with fresh secrets."""

import secrets
import shutil
from pathlib import Path

# option -> paths (relative to the project root; {package} is the project's package) that
# exist only when the option is on. Files vary by conditional names; folders, and files
# copied without rendering (their names are not rendered either), are listed here. The
# template's tests check each row.
PATHS_BY_OPTION: dict[str, list[str]] = {
    "use_presence": [
        "{package}/presence",
        "{package}/chat/static/chat/presence.js",
    ],
    "use_nginx": ["deploy/nginx"],
}

SECRET_VARIABLES = ("DJANGO_SECRET_KEY", "JWT_SIGNING_KEY")


def remove_disabled(root: Path, options: dict[str, bool]) -> None:
    """Deletes the paths of every option that is off."""
    for option, paths in PATHS_BY_OPTION.items():
        if options.get(option):
            continue
        for relative in paths:
            path = root / relative.format(package=root.name)
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()


def write_env(root: Path) -> None:
    """Writes .env from .env.example, with a new random value for each secret."""
    lines = []
    for line in (root / ".env.example").read_text(encoding="utf-8").splitlines():
        name = line.split("=", 1)[0]
        if name in SECRET_VARIABLES:
            line = f"{name}={secrets.token_urlsafe(50)}"
        lines.append(line)
    env = root / ".env"
    env.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env.chmod(0o600)


def main(root: Path, options: dict[str, bool]) -> None:
    remove_disabled(root, options)
    write_env(root)


if __name__ == "__main__":
    # Rendered by cookiecutter: "True" or "False" for each switch.
    answers = {
        "use_presence": "{{ cookiecutter.use_presence }}",
        "use_nginx": "{{ cookiecutter.use_nginx }}",
    }
    main(Path.cwd(), {name: value == "True" for name, value in answers.items()})
