"""Which test modules of a generated suite two combinations can share: one key per module.

A module's key hashes every file its run can read: the project's code, settings, scripts,
locks and test helpers, and the module itself. Two combinations that give a module the
same key run it on the very same files, so the matrix runs it once for both.

Two kinds of file stay out of a key:
- inert files, which no test reads or runs (the README, CI workflows, the secrets in .env);
- an add-on's files (deploy/nginx/, the Docker files), which only the modules that name
  the add-on read. A module that never says "nginx" runs the same with or without
  deploy/nginx/, so the matrix does not run it again for a project that differs only there.
  A test helper (conftest.py, tests/*.py that are not test modules) that names an add-on
  puts its files in every module's key.
"""

import fnmatch
import hashlib
import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from tests.matrix import Combination, default_combination

if TYPE_CHECKING:
    from tests.conftest import Rendered

SUITE_INERT = ["README.md", ".github/*", ".env"]
# An add-on option: the words that name it, and the files that only modules naming it read.
# tests/test_suite_keys.py checks that turning it on changes nothing else a module reads.
ADDONS: dict[str, tuple[str, list[str]]] = {
    "use_nginx": (r"\bnginx", ["deploy/nginx/*"]),
    "use_docker": (
        r"\b([Dd]ocker\w*|compose|healthcheck|HEALTHCHECK)\b",
        ["Dockerfile", ".dockerignore", "compose.yaml", "bin/healthcheck"],
    ),
}

# A shared option: the words that name it, and the files it may change. Its other value
# changes files every module reads (settings, locks, config/__init__.py), so no key can
# prove a module unaffected; but a module that never names it runs, for both values, only
# with the option at its default. A judgment, written down in docs/decisions.md, and
# guarded: tests/test_suite_keys.py fails when turning the option over changes any other
# file, or a module that names none of the words.
SHARED: dict[str, tuple[str, list[str]]] = {
    "use_celery": (
        r"[Cc]elery|CELERY|\borders\b|\bOrders?\b|\border_\w+|\bworker\b",
        [
            ".env.example",
            "Makefile",
            "bin/worker",
            "compose.yaml",
            "config/__init__.py",
            "config/celery.py",
            "config/settings.py",
            "deploy/systemd/*-worker.service",
            "pyproject.toml",
            "requirements*.lock",
            "tests/background.py",
            "*/orders/*",
        ],
    ),
}


def matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def is_test_module(name: str) -> bool:
    """Tells whether pytest collects ``name`` as a test module (``test_*.py``)."""
    path = PurePosixPath(name)
    return path.suffix == ".py" and path.name.startswith("test_")


def is_test_helper(name: str) -> bool:
    """Tells whether ``name`` is test code that is not a module of tests itself."""
    path = PurePosixPath(name)
    in_tests = "tests" in path.parts[:-1] or path.name == "conftest.py"
    return path.suffix == ".py" and in_tests and not is_test_module(name)


def addons_named(text: str) -> set[str]:
    """Returns the add-ons that ``text`` names."""
    return {addon for addon, (words, _) in ADDONS.items() if re.search(words, text)}


def module_keys(rendered: "Rendered") -> dict[str, str]:
    """Returns a key for each test module of ``rendered``: equal keys, equal runs."""
    addon_files = {addon: sorted(
        name for name in rendered.files if matches(name, patterns)
    ) for addon, (_, patterns) in ADDONS.items()}  # fmt: skip
    in_addon = {name for names in addon_files.values() for name in names}
    common = hashlib.sha256()
    everywhere: set[str] = set()
    modules = []
    for name in rendered.files:
        if matches(name, SUITE_INERT) or name in in_addon:
            continue
        if is_test_module(name):
            modules.append(name)
            continue
        content = (rendered.root / name).read_bytes()
        if is_test_helper(name):
            everywhere |= addons_named(content.decode(errors="replace"))
        common.update(file_digest(name, content))
    keys = {}
    for module in modules:
        content = (rendered.root / module).read_bytes()
        digest = common.copy()
        digest.update(file_digest(module, content))
        for addon in sorted(everywhere | addons_named(content.decode(errors="replace"))):
            for name in addon_files[addon]:
                digest.update(file_digest(name, (rendered.root / name).read_bytes()))
        keys[module] = digest.hexdigest()[:32]
    return keys


def file_digest(name: str, content: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\0" + content).digest()


def shared_keys(
    keys: dict[str, str], rendered: "Rendered", base_keys: dict[str, str], option: str
) -> dict[str, str]:
    """Returns ``keys`` with the key of each module that does not name ``option`` taken
    from ``base_keys``, the keys of the same combination with ``option`` at its default."""
    words = SHARED[option][0]
    return {
        module: base_keys[module]
        if module in base_keys
        and not re.search(words, (rendered.root / module).read_text(encoding="utf-8"))
        else key
        for module, key in keys.items()
    }


def run_rank(combination: Combination) -> int:
    """Returns how many add-ons ``combination`` leaves off and how many shared options it
    sets away from their defaults: a combination with fewer runs first. One with every
    add-on on runs the add-on modules in the same suite run as the rest, on the servers
    that run has started; the combinations without them then run nothing of their own."""
    default = default_combination()[1]
    off = sum(not combination[name] for name in ADDONS)
    return off + sum(combination[name] != default[name] for name in SHARED)
