"""Prints how the installed versions differ from a lock file: package, locked, installed."""

import argparse
import re
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

# `name==version ; marker \` as `uv pip compile` writes it, hashes on the lines after.
PIN = re.compile(r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>[^\s;\\]+)\s*(?:;(?P<marker>[^\\]+))?")


def locked(lock: Path) -> dict[str, str]:
    """Returns the version the lock pins for each package this interpreter would install."""
    found = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        pin = PIN.match(line)
        if pin and (pin["marker"] is None or Marker(pin["marker"].strip()).evaluate()):
            found[canonicalize_name(pin["name"])] = pin["version"]
    return found


def installed() -> dict[str, str]:
    """Returns the version of each distribution installed beside this interpreter."""
    return {
        canonicalize_name(dist.metadata["Name"]): dist.version for dist in metadata.distributions()
    }


def drift(lock: Path) -> list[tuple[str, str, str]]:
    """Returns (package, locked, installed) for every locked package whose version differs."""
    now = installed()
    return [
        (name, version, now.get(name, "(not installed)"))
        for name, version in sorted(locked(lock).items())
        if now.get(name) != version
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("lock", type=Path, help="e.g. requirements-dev.lock")
    rows = drift(parser.parse_args().lock)
    if not rows:
        print("No drift: every locked package is installed at its locked version.")
        return
    rows.insert(0, ("package", "locked", "latest"))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
