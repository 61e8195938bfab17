"""Every combination of the template's options, derived from cookiecutter.json."""

import itertools
import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
COOKIECUTTER_JSON = REPO / "cookiecutter.json"

Combination = dict[str, Any]


def load_context(path: Path = COOKIECUTTER_JSON) -> dict[str, Any]:
    """Returns the template's cookiecutter.json as a dict, in file order."""
    return json.loads(path.read_text(encoding="utf-8"))


def options(context: dict[str, Any]) -> dict[str, list[Any]]:
    """Returns each option's values, default first: choice lists and booleans."""
    found = {}
    for name, value in context.items():
        if name.startswith("_"):
            continue
        if isinstance(value, bool):
            found[name] = [value, not value]
        elif isinstance(value, list):
            found[name] = list(value)
    return found


# Combinations the template does not render, each as the values that rule it out and why:
#   ({"auth": "jwt", "use_presence": False}, "presence needs the user JWT auth provides"),
UNSUPPORTED: list[tuple[Combination, str]] = []


def unsupported_reason(
    combination: Combination, rules: list[tuple[Combination, str]] | None = None
) -> str | None:
    """Returns why ``combination`` is not supported, or None when it is."""
    for values, reason in UNSUPPORTED if rules is None else rules:
        if all(combination.get(name) == value for name, value in values.items()):
            return reason
    return None


def is_supported(
    combination: Combination, rules: list[tuple[Combination, str]] | None = None
) -> bool:
    """Tells whether the template promises a working project for ``combination``."""
    return unsupported_reason(combination, rules) is None


def combination_id(combination: Combination) -> str:
    """Returns a readable id: ``key-value`` for a choice, ``name`` or ``no-name`` for a switch."""
    parts = []
    for name, value in combination.items():
        if isinstance(value, bool):
            short = name.removeprefix("use_")
            parts.append(short if value else f"no-{short}")
        else:
            parts.append(f"{name}-{value}")
    return "_".join(parts) or "default"


def combinations(
    context: dict[str, Any] | None = None, rules: list[tuple[Combination, str]] | None = None
) -> dict[str, Combination]:
    """Returns every supported combination of options, keyed by id, default first."""
    found = options(load_context() if context is None else context)
    names = list(found)
    result = {}
    for values in itertools.product(*found.values()):
        combination = dict(zip(names, values, strict=True))
        if is_supported(combination, rules):
            result[combination_id(combination)] = combination
    return result


def default_combination(context: dict[str, Any] | None = None) -> tuple[str, Combination]:
    """Returns the id and values of the combination that ``--no-input`` renders."""
    found = options(load_context() if context is None else context)
    combination = {name: values[0] for name, values in found.items()}
    return combination_id(combination), combination


def option_flags(combination: Combination, context: dict[str, Any] | None = None) -> dict:
    """Returns which options are on: a switch by name, a choice as ``<name>_<value>``."""
    found = options(load_context() if context is None else context)
    flags = {}
    for name, values in found.items():
        if isinstance(values[0], bool):
            flags[name] = bool(combination[name])
        else:
            for value in values:
                flags[f"{name}_{value}"] = combination[name] == value
    return flags


if __name__ == "__main__":
    json.dump(list(combinations()), sys.stdout)
    sys.stdout.write("\n")
