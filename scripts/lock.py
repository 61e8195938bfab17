"""Refreshes every lock the template ships: `make lock` (one render per dependency variant)."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from cookiecutter.main import cookiecutter

from tests.matrix import REPO, combinations

TEMPLATE_ROOT = REPO / "{{cookiecutter.project_slug}}"
LOCKS = ("requirements.lock", "requirements-dev.lock")
# The options the dependencies vary with; every other option leaves pyproject.toml's
# dependencies alone.
DEPENDENCY_OPTIONS = ("auth", "asgi_server", "use_celery")


def condition_of(name: str, value: object) -> str:
    """Returns the Jinja test that ``name`` has ``value``: a switch as itself or its negation."""
    if isinstance(value, bool):
        return f"cookiecutter.{name}" if value else f"not cookiecutter.{name}"
    return f"cookiecutter.{name} == '{value}'"


def variant_name(lock: str, values: dict[str, object]) -> str:
    """Returns the template's file name of ``lock`` for one dependency variant."""
    condition = " and ".join(condition_of(name, value) for name, value in values.items())
    return f"{{% if {condition} %}}{lock}{{% endif %}}"


def variants() -> list[dict[str, object]]:
    """Returns each distinct value of the dependency options, in matrix order."""
    found = []
    for combination in combinations().values():
        values = {name: combination[name] for name in DEPENDENCY_OPTIONS}
        if values not in found:
            found.append(values)
    return found


def refresh(values: dict[str, object], work: Path, upgrade: bool = True) -> None:
    """Renders one variant, re-resolves its locks there and copies them back.

    ``upgrade`` takes the newest versions allowed; without it every pin still allowed stays.
    """
    project = Path(cookiecutter(str(REPO), no_input=True, extra_context=values, output_dir=work))
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or "uv"
    subprocess.run(
        ["make", "--no-print-directory", "lock", f"UPGRADE={1 if upgrade else ''}", f"UV={uv}"],
        cwd=project,
        check=True,
        env=os.environ,
    )
    for lock in LOCKS:
        shutil.copyfile(project / lock, TEMPLATE_ROOT / variant_name(lock, values))
    print(f"locked {values}")


def main() -> None:
    upgrade = "--keep" not in sys.argv[1:]
    for values in variants():
        with tempfile.TemporaryDirectory() as work:
            refresh(values, Path(work), upgrade)


if __name__ == "__main__":
    main()
