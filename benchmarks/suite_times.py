"""Times generated suites, `make test` style, for the template now and at an earlier commit.

    python -m benchmarks.suite_times                      # the largest and smallest combination
    python -m benchmarks.suite_times --ref 665a010 --runs 2   # and the same at that commit

Each suite runs in a virtualenv of its own (from the project's lock when it has one, from its
pyproject otherwise), one at a time, on an otherwise idle machine; the table gives the median
wall time and the CPU time of the suite and everything it started. Run it from the template's
environment (`make test` installs it).
"""

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cookiecutter.main import cookiecutter

from tests.matrix import REPO, combination_id, load_context, options

UV = Path(sys.executable).parent / "uv"


def extremes() -> dict[str, dict]:
    """The combination with every switch on and each choice's last value, and its opposite."""
    found = options(load_context())
    pick = {"largest": (True, -1), "smallest": (False, 0)}
    return {
        size: {
            name: switch if isinstance(values[0], bool) else values[index]
            for name, values in found.items()
        }
        for size, (switch, index) in pick.items()
    }


def render(template: Path, values: dict, into: Path) -> Path:
    """Renders ``template`` with ``values`` into ``into``; returns the project."""
    config = into / "cookiecutter.yaml"
    config.write_text(f"cookiecutters_dir: {into}/cc\nreplay_dir: {into}/replay\n")
    return Path(
        cookiecutter(
            str(template),
            no_input=True,
            extra_context=values,
            output_dir=str(into),
            config_file=str(config),
        )
    )


def environment(project: Path) -> Path:
    """Builds the project's virtualenv from its lock (or its pyproject); returns its Python."""
    env = project / ".venv"
    subprocess.run([UV, "venv", "--quiet", env], check=True)
    python = env / "bin" / "python"
    lock = project / "requirements-dev.lock"
    declared = ["-r", project / "pyproject.toml", "--extra", "dev"]
    source = ["-r", lock] if lock.exists() else declared
    subprocess.run([UV, "pip", "install", "--quiet", "--python", python, *source], check=True)
    return python


def timed(python: Path, project: Path) -> tuple[float, float]:
    """Runs the suite once; returns its wall and CPU seconds (children included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTUAL_ENV"))}
    result = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=environ | {"CI": "true"},
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    if result.returncode != 0:
        sys.exit(f"the suite of {project} failed:\n{result.stdout[-3000:]}")
    print(f"  {project.parent.name}: {last} (wall {wall:.1f} s, CPU {cpu:.1f} s)", flush=True)
    return wall, cpu


def checkout(ref: str, into: Path) -> Path:
    """Exports the template at ``ref`` into ``into``; returns its root."""
    archive = subprocess.run(
        ["git", "-C", REPO, "archive", "--format=tar", ref], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", into], input=archive, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", help="also time the template at this git commit")
    parser.add_argument("--runs", type=int, default=1, help="runs of each suite (median)")
    args = parser.parse_args()
    templates = {"now": REPO}
    rows = []
    with tempfile.TemporaryDirectory(prefix="suite-times-") as tmp:
        if args.ref:
            (Path(tmp) / "ref").mkdir()
            templates = {args.ref: checkout(args.ref, Path(tmp) / "ref"), **templates}
        for label, template in templates.items():
            for size, values in extremes().items():
                into = Path(tmp) / f"{label}-{size}"
                into.mkdir(parents=True)
                project = render(template, values, into)
                python = environment(project)
                walls, cpus = zip(*(timed(python, project) for _ in range(args.runs)), strict=True)
                rows.append(
                    (label, size, combination_id(values), statistics.median(walls), min(cpus))
                )
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    print(f"\nmachine: {machine}, Python {platform.python_version()}")
    print(f"| template | combination | id | wall (s, median of {args.runs}) | CPU (s) |")
    print("| --- | --- | --- | --- | --- |")
    for label, size, ident, wall, cpu in rows:
        print(f"| {label} | {size} | `{ident}` | {wall:.1f} | {cpu:.1f} |")


if __name__ == "__main__":
    main()
