"""Finds the newest CPython 3 on this machine: under pyenv, on PATH, or managed by uv."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

OLDEST = (3, 12)


def version_of(python: Path) -> tuple[int, int] | None:
    """Returns the (major, minor) version of the interpreter ``python``, or None if it fails."""
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    major, minor = map(int, out.split())
    return major, minor


def pyenv_root() -> Path:
    """Returns `pyenv root`, or where pyenv would put it when pyenv is not on PATH."""
    if shutil.which("pyenv"):
        out = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    return Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def candidates() -> list[Path]:
    """Returns the CPython 3 interpreters found under pyenv, on PATH and managed by uv."""
    found = [
        version / "bin" / "python3"
        for version in sorted((pyenv_root() / "versions").glob("3.*"))
        if re.fullmatch(r"3\.\d+\.\d+", version.name)
    ]
    found += [Path(p) for minor in range(10, 30) if (p := shutil.which(f"python3.{minor}"))]
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv:
        listing = subprocess.run(
            [uv, "python", "list", "--only-installed", "--output-format", "json"],
            capture_output=True,
            text=True,
            check=False,
        )
        if listing.returncode == 0:
            found += [
                Path(entry["path"])
                for entry in json.loads(listing.stdout or "[]")
                if entry.get("implementation") == "cpython" and entry.get("path")
            ]
    return [path for path in found if path.is_file()]


def newest_python(oldest: tuple[int, int] = OLDEST) -> tuple[Path, tuple[int, int]] | None:
    """Returns the newest CPython at least ``oldest`` and its version, or None."""
    versions = [(version_of(path), path) for path in candidates()]
    usable = [(version, path) for version, path in versions if version and version >= oldest]
    if not usable:
        return None
    version, path = max(usable)
    return path, version


if __name__ == "__main__":
    found = newest_python()
    if found is None:
        sys.exit(f"no CPython >= {OLDEST[0]}.{OLDEST[1]} found")
    print(found[0])
