"""Each combination ships locks that hold what its pyproject.toml declares, hashes included."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import Rendered
from tests.test_combinations import TEMPLATE_ROOT

LOCKS = ("requirements.lock", "requirements-dev.lock")
# The Pythons the lock must serve: Django 5.2 on the oldest, Django 6 from 3.12.
PYTHONS = ("3.11.7", "3.13.0")


def entries(lock_text: str) -> list[str]:
    """Returns a lock's requirements, one per entry, with continuation lines joined."""
    joined = re.sub(r"\\\n", " ", lock_text)
    stripped = (line.strip() for line in joined.splitlines())
    return [line for line in stripped if line and not line.startswith("#")]


def pins(lock_text: str, python: str) -> dict[str, str]:
    """Returns the version the lock installs of each package on CPython ``python`` (Linux)."""
    environment = {"python_version": python.rsplit(".", 1)[0], "python_full_version": python}
    found = {}
    for entry in entries(lock_text):
        requirement = Requirement(entry.split(" --hash", 1)[0])
        if requirement.marker is None or requirement.marker.evaluate(environment):
            (specifier,) = requirement.specifier
            found[canonicalize_name(requirement.name)] = specifier.version
    return found


def lock_problems(declared: list[str], lock_text: str) -> list[str]:
    """Returns what is wrong with ``lock_text`` for the requirements ``declared``: a pin
    without a hash, or a requirement missing or unsatisfied on any of ``PYTHONS``."""
    problems = [
        f"no sha256 hash: {entry.split(' ', 1)[0]}"
        for entry in entries(lock_text)
        if "--hash=sha256:" not in entry
    ]
    for python in PYTHONS:
        locked = pins(lock_text, python)
        for text in declared:
            requirement = Requirement(text)
            version = locked.get(canonicalize_name(requirement.name))
            if version is None:
                problems.append(f"Python {python}: {requirement.name} is not in the lock")
            elif not requirement.specifier.contains(version, prereleases=True):
                problems.append(f"Python {python}: {requirement.name}=={version} is not {text}")
    return problems


def declared(project: Path, lock: str) -> list[str]:
    """Returns the requirements ``lock`` must satisfy: runtime, plus the dev extra for dev."""
    metadata = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extra = metadata["optional-dependencies"]["dev"] if lock == "requirements-dev.lock" else []
    return [*metadata["dependencies"], *extra]


@pytest.mark.parametrize("lock", LOCKS)
def test_lock_holds_what_pyproject_declares(rendered: Rendered, lock: str) -> None:
    """Every declared requirement is pinned, on Python 3.11 and 3.13, within its range, and
    every pin carries a hash."""
    lock_text = (rendered.root / lock).read_text(encoding="utf-8")
    problems = lock_problems(declared(rendered.root, lock), lock_text)
    assert not problems, f"{lock} is stale, run `make lock`:\n" + "\n".join(problems)


def test_dev_lock_pins_the_runtime_versions(rendered: Rendered) -> None:
    """What production installs is what the suite ran with: on each Python, the dev lock
    installs every runtime package at the runtime lock's version."""
    runtime, dev = ((rendered.root / lock).read_text(encoding="utf-8") for lock in LOCKS)
    for python in PYTHONS:
        dev_pins = pins(dev, python)
        differ = {name: v for name, v in pins(runtime, python).items() if dev_pins.get(name) != v}
        assert not differ, f"Python {python}: the dev lock differs on {differ}"


def test_lock_gives_each_python_its_django() -> None:
    """Each universal lock installs Django 5.2 on Python 3.11 and Django 6 or later on 3.13."""
    variants = sorted(TEMPLATE_ROOT.glob("*requirements*.lock*"))
    assert len(variants) == 2 * 8, [path.name for path in variants]
    for variant in variants:
        lock_text = variant.read_text(encoding="utf-8")
        assert pins(lock_text, "3.11.7")["django"].startswith("5.2."), variant.name
        assert int(pins(lock_text, "3.13.0")["django"].split(".")[0]) >= 6, variant.name


LOCK = """\
django==5.2.19 ; python_full_version < '3.12' \\
    --hash=sha256:aa
django==6.1.3 ; python_full_version >= '3.12' \\
    --hash=sha256:bb
redis==8.1.0 \\
    --hash=sha256:cc
    # via channels-redis
"""


def test_lock_problems_accepts_a_lock_that_fits() -> None:
    """It finds nothing wrong when every range holds on every Python."""
    assert lock_problems(["django>=5.2,<7", "redis>=5.2"], LOCK) == []


def test_lock_problems_reports_a_floor_above_the_lock() -> None:
    """It reports a requirement the lock does not satisfy, on each Python where it does not."""
    assert lock_problems(["django>=6"], LOCK) == ["Python 3.11.7: django==5.2.19 is not django>=6"]
    assert lock_problems(["redis>=9"], LOCK) == [
        f"Python {python}: redis==8.1.0 is not redis>=9" for python in PYTHONS
    ]


def test_lock_problems_reports_missing_packages_and_hashes() -> None:
    """It reports a requirement absent from the lock and a pin without a hash."""
    unhashed = LOCK.replace("redis==8.1.0 \\\n    --hash=sha256:cc\n", "redis==8.1.0\n")
    assert lock_problems(["pyjwt>=2.10"], unhashed) == [
        "no sha256 hash: redis==8.1.0",
        *(f"Python {python}: pyjwt is not in the lock" for python in PYTHONS),
    ]
