"""The matrix comes from cookiecutter.json: every option, every value, readable ids."""

import json
import subprocess
import sys

from tests.conftest import CombinationScheduling
from tests.matrix import (
    REPO,
    UNSUPPORTED,
    combination_id,
    combinations,
    default_combination,
    load_context,
    option_flags,
    options,
    unsupported_reason,
)

SYNTHETIC = {
    "project_name": "Chat Project",
    "project_slug": "{{ cookiecutter.project_name|slugify }}",
    "auth": ["session", "jwt"],
    "use_presence": True,
    "asgi_server": ["daphne", "uvicorn"],
    "use_sentry": False,
    "__prompts__": {"auth": "How users sign in"},
    "_copy_without_render": ["*/templates/*"],
    "__needs_redis": "{{ cookiecutter.use_presence }}",
}
NO_JWT_WITHOUT_PRESENCE = [({"auth": "jwt", "use_presence": False}, "presence needs JWT users")]


def test_options_are_lists_and_booleans_with_default_first() -> None:
    """It takes choice lists and booleans as options, default first, and nothing private."""
    assert options(SYNTHETIC) == {
        "auth": ["session", "jwt"],
        "use_presence": [True, False],
        "asgi_server": ["daphne", "uvicorn"],
        "use_sentry": [False, True],
    }


def test_every_combination_is_built() -> None:
    """It builds the product of all option values, the default first."""
    found = combinations(SYNTHETIC)
    # 16 distinct ids: no two combinations collapse into one.
    assert len(found) == 16
    assert next(iter(found)) == default_combination(SYNTHETIC)[0]
    assert default_combination(SYNTHETIC)[1] == {
        "auth": "session",
        "use_presence": True,
        "asgi_server": "daphne",
        "use_sentry": False,
    }


def test_ids_are_readable() -> None:
    """It names a choice key-value, a true switch by its name, a false one with no-."""
    combination = {"auth": "jwt", "asgi_server": "uvicorn", "use_presence": True}
    assert combination_id(combination) == "auth-jwt_asgi_server-uvicorn_presence"
    assert combination_id({"use_presence": False, "sentry": True}) == "no-presence_sentry"


def test_no_options_is_one_default_combination() -> None:
    """It renders a template without options as the single combination `default`."""
    assert combinations({"project_name": "x", "_extensions": []}) == {"default": {}}


def test_unsupported_combinations_are_left_out() -> None:
    """It drops exactly the combinations a rule names, and says why."""
    found = combinations(SYNTHETIC, NO_JWT_WITHOUT_PRESENCE)
    assert len(found) == 12
    assert all(not (c["auth"] == "jwt" and not c["use_presence"]) for c in found.values())
    rejected = {"auth": "jwt", "use_presence": False, "asgi_server": "daphne"}
    assert unsupported_reason(rejected, NO_JWT_WITHOUT_PRESENCE) == "presence needs JWT users"
    assert unsupported_reason(rejected | {"use_presence": True}, NO_JWT_WITHOUT_PRESENCE) is None


def test_unsupported_rules_name_real_options() -> None:
    """Each rule in UNSUPPORTED names real options and values and rules something out."""
    known = options(load_context())
    for values, reason in UNSUPPORTED:
        assert reason
        for name, value in values.items():
            assert value in known.get(name, []), f"{name}={value!r} is not an option value"
        assert len(combinations(rules=[(values, reason)])) < len(combinations(rules=[]))


def test_default_combination_is_supported() -> None:
    """The combination --no-input renders is one the template supports."""
    assert default_combination()[0] in combinations()


def test_option_flags_name_switches_and_choices() -> None:
    """It flags a switch by name and each choice as <option>_<value>."""
    combination = {"auth": "jwt", "use_presence": False, "asgi_server": "daphne"}
    context = {name: value for name, value in SYNTHETIC.items() if name != "use_sentry"}
    assert option_flags(combination, context) == {
        "auth_session": False,
        "auth_jwt": True,
        "use_presence": False,
        "asgi_server_daphne": True,
        "asgi_server_uvicorn": False,
    }


def test_cli_prints_ids_as_json() -> None:
    """`python -m tests.matrix` prints the ids of every combination as a JSON list."""
    out = subprocess.run(
        [sys.executable, "-m", "tests.matrix"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == list(combinations())


def test_scheduler_keeps_a_combination_and_a_module_together() -> None:
    """xdist gets one unit of work per combination and one per other module."""
    split = CombinationScheduling.__new__(CombinationScheduling)._split_scope
    combination = next(iter(combinations()))
    assert split(f"tests/test_combinations.py::test_renders[{combination}]") == combination
    assert split(f"tests/test_generated_suite.py::test_check[{combination}]") == combination
    assert split("tests/test_hostile.py::test_ruff_clean") == "tests/test_hostile.py"
    assert split("tests/test_hooks.py::test_x[1bad]") == "tests/test_hooks.py"
    assert split("tests/test_hostile.py::test_ruff_clean@hostile") == "hostile"
