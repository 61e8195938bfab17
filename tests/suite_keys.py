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
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from tests.matrix import Combination, default_combination

if TYPE_CHECKING:
    from tests.conftest import Rendered

SUITE_INERT = ["README.md", ".github/*", ".env"]
# An add-on's parts: the words that name a part, and the files that only modules naming it
# read. tests/test_suite_keys.py checks that turning an add-on on changes nothing else a
# module reads. The health-check script is a part of its own: the compose file changes with
# nginx, and a module about the script alone need not run again for that.
ADDON_PARTS: list[tuple[str, str, list[str]]] = [
    ("use_nginx", r"\bnginx", ["deploy/nginx/*"]),
    (
        "use_docker",
        r"\b([Dd]ocker\w*|compose|HEALTHCHECK)\b",
        ["Dockerfile", ".dockerignore", "compose.yaml"],
    ),
    ("use_docker", r"\bhealthcheck\b", ["bin/healthcheck"]),
]
# Each add-on option: the words that name any of its parts, and all their files.
ADDONS: dict[str, tuple[str, list[str]]] = {
    option: (
        "|".join(f"(?:{w})" for o, w, _ in ADDON_PARTS if o == option),
        [f for o, _, files in ADDON_PARTS if o == option for f in files],
    )
    for option in dict.fromkeys(option for option, _, _ in ADDON_PARTS)
}


@dataclass(frozen=True)
class Shared:
    """A shared option. Its other value changes files every module reads (settings, locks),
    so no key can prove a module unaffected; but a module of ``modules`` that names none of
    ``words`` runs, for every value, only with the option at its default. A judgment, written
    down in docs/decisions.md, and guarded: tests/test_suite_keys.py fails when turning the
    option over changes a file that ``files`` does not list, or a module that does not
    name it."""

    words: str
    files: list[str]
    # The modules that may run with the default only: what their runs never start (a
    # server process, say) may be left to the modules that do.
    modules: list[str] = field(default_factory=lambda: ["*"])
    # Modules that name the option but still run with the default only, a judgment each.
    also: list[str] = field(default_factory=list)

    def shares(self, module: str, text: str) -> bool:
        """Tells whether ``module`` (its ``text``) runs with the option at its default only."""
        if matches(module, self.also):
            return True
        return matches(module, self.modules) and not re.search(self.words, text)


SHARED: dict[str, Shared] = {
    "use_celery": Shared(
        words=r"[Cc]elery|CELERY|\borders\b|\bOrders?\b|\border_\w+|\bworker\b",
        files=[
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
        # The orders page's template and script are the same with and without Celery; what
        # Celery changes behind it (the worker pushing each status) tests/test_worker.py
        # checks over HTTP and the socket the page uses.
        also=["tests/test_orders_page.py"],
    ),
    "asgi_server": Shared(
        words=r"[Dd]aphne|[Uu]vicorn|DAPHNE|UVICORN|asgi_server|bin/serve",
        files=[
            ".env.example",
            "Makefile",
            "bin/serve",
            "config/settings.py",
            "deploy/systemd/*",
            "pyproject.toml",
            "requirements*.lock",
            "*/core/server.py",
        ],
        # The in-process tests (each app's tests/): they drive the ASGI application through
        # Channels' communicator, never a server. The modules of tests/ start the
        # production server, and run with each.
        modules=["*/tests/test_*.py"],
    ),
    "use_presence": Shared(
        words=r"[Pp]resence|PRESENCE",
        files=[
            ".env.example",
            "benchmarks/*presence*",
            "config/settings.py",
            "*/routing.py",
            "*/presence/*",
            "*/chat/static/chat/presence.js",
        ],
        # The worker's tests and the orders' in-process tests: what they check (a task's
        # steps, pushed to its owner's notification socket) is the same with presence on
        # and off, and the sockets with and without it run in every other module.
        modules=["tests/test_worker.py", "*/orders/tests/test_*.py"],
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


def parts_named(text: str) -> set[int]:
    """Returns the add-on parts (indices of ADDON_PARTS) that ``text`` names."""
    return {index for index, (_, words, _) in enumerate(ADDON_PARTS) if re.search(words, text)}


def module_keys(rendered: "Rendered") -> dict[str, str]:
    """Returns a key for each test module of ``rendered``: equal keys, equal runs."""
    part_files = [
        sorted(name for name in rendered.files if matches(name, patterns))
        for _, _, patterns in ADDON_PARTS
    ]
    in_addon = {name for names in part_files for name in names}
    common = hashlib.sha256()
    everywhere: set[int] = set()
    modules = []
    for name in rendered.files:
        if matches(name, SUITE_INERT) or name in in_addon:
            continue
        if is_test_module(name):
            modules.append(name)
            continue
        content = (rendered.root / name).read_bytes()
        if is_test_helper(name):
            everywhere |= parts_named(content.decode(errors="replace"))
        common.update(file_digest(name, content))
    keys = {}
    for module in modules:
        content = (rendered.root / module).read_bytes()
        digest = common.copy()
        digest.update(file_digest(module, content))
        for part in sorted(everywhere | parts_named(content.decode(errors="replace"))):
            for name in part_files[part]:
                digest.update(file_digest(name, (rendered.root / name).read_bytes()))
        keys[module] = digest.hexdigest()[:32]
    return keys


def file_digest(name: str, content: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\0" + content).digest()


def shared_keys(
    keys: dict[str, str], rendered: "Rendered", base_keys: dict[str, str], option: str
) -> dict[str, str]:
    """Returns ``keys`` with the key of each module that ``option`` shares taken from
    ``base_keys``, the keys of the same combination with ``option`` at its default."""
    shared = SHARED[option]
    return {
        module: base_keys[module]
        if module in base_keys
        and shared.shares(module, (rendered.root / module).read_text(encoding="utf-8"))
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
