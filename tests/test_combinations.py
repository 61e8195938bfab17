"""Each combination renders a clean project: no Jinja left, every file parses, lint clean."""

import fnmatch
import json
import re
import stat
import tomllib
from collections.abc import Callable
from pathlib import Path

import jinja2
import yaml

from tests.conftest import RENDERED, Rendered, actionlint, load_hook, ruff, run, template_tool
from tests.matrix import REPO, combinations, load_context, option_flags

# `${{ }}` is a GitHub Actions expression and `${#var}` a shell string length, not Jinja.
JINJA_LEFT = re.compile(r"(?<!\$)\{\{|\{%|(?<!\$)\{#|cookiecutter\.[A-Za-z_]")


def verbatim(rendered: Rendered) -> list[str]:
    """Returns the rendered files cookiecutter copied without rendering."""
    context = load_context() | rendered.context | {"project_slug": rendered.slug}
    globs = [
        jinja2.Template(glob).render(cookiecutter=context)
        for glob in load_context()["_copy_without_render"]
    ]
    return [name for name in rendered.files if any(fnmatch.fnmatch(name, g) for g in globs)]


def dotenv(path: Path) -> dict[str, str]:
    """Returns the variables a .env file assigns."""
    lines = path.read_text(encoding="utf-8").splitlines()
    pairs = [line.split("=", 1) for line in lines if "=" in line and not line.startswith("#")]
    return {name.strip(): value.strip() for name, value in pairs}


def test_renders(rendered: Rendered, combination: str, record_property) -> None:
    """It renders the project into a folder named after the slug, with its pyproject."""
    assert (rendered.root / "pyproject.toml").is_file()
    assert (rendered.root / "manage.py").is_file()
    assert (rendered.root / rendered.slug / "__init__.py").is_file()
    record_property(RENDERED, combination)


def test_no_jinja_left(rendered: Rendered) -> None:
    """It leaves no Jinja syntax in any file cookiecutter rendered."""
    copied = set(verbatim(rendered))
    leftovers = []
    for name in rendered.files:
        if name in copied:
            continue
        text = (rendered.root / name).read_bytes().decode("latin-1")
        for number, line in enumerate(text.splitlines(), 1):
            if JINJA_LEFT.search(line):
                leftovers.append(f"{name}:{number}: {line.strip()}")
    assert not leftovers, "Jinja left in rendered files:\n" + "\n".join(leftovers)


def test_python_compiles(rendered: Rendered) -> None:
    """Every rendered .py file compiles."""
    sources = [name for name in rendered.files if name.endswith(".py")]
    assert sources
    for name in sources:
        compile((rendered.root / name).read_bytes(), name, "exec")


def test_ruff_clean(rendered: Rendered) -> None:
    """The project passes ruff check and ruff format with its own configuration."""
    ruff(rendered.root)


def test_data_files_parse(rendered: Rendered) -> None:
    """Every TOML, YAML and JSON file parses."""
    parsers: dict[str, Callable[[str], object]] = {
        ".toml": tomllib.loads,
        ".yml": lambda text: list(yaml.safe_load_all(text)),
        ".yaml": lambda text: list(yaml.safe_load_all(text)),
        ".json": json.loads,
    }
    checked = 0
    for name in rendered.files:
        parse = parsers.get(Path(name).suffix)
        if parse is not None:
            try:
                parse((rendered.root / name).read_text(encoding="utf-8"))
            except Exception as error:
                raise AssertionError(f"{name} does not parse: {error}") from error
            checked += 1
    assert checked, "no TOML, YAML or JSON file rendered"


def test_env_has_fresh_secret(rendered: Rendered) -> None:
    """The post hook writes a private .env with a new value for every secret .env.example
    declares. That the values differ from render to render, tests/test_hooks.py checks on
    the hook itself, which no option changes."""
    env = rendered.root / ".env"
    assert env.is_file()
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    written, example = dotenv(env), dotenv(rendered.root / ".env.example")
    secrets = [name for name in load_hook("post_gen_project").SECRET_VARIABLES if name in example]
    assert "DJANGO_SECRET_KEY" in secrets
    for name in secrets:
        assert len(written.get(name, "")) >= 50, name
        assert written[name] != example[name], name


def test_disabled_option_files_absent(rendered: Rendered, combination: str) -> None:
    """The files of each option that is off are gone and those of each option on are there."""
    flags = option_flags(combinations()[combination])
    table = load_hook("post_gen_project").PATHS_BY_OPTION
    unknown = set(table) - set(flags)
    assert not unknown, f"PATHS_BY_OPTION names options cookiecutter.json lacks: {unknown}"
    for option, paths in table.items():
        for path in paths:
            exists = (rendered.root / path.format(package=rendered.slug)).exists()
            assert exists == flags[option], f"{path} exists={exists} with {option}={flags[option]}"


# A template path segment present only when its condition holds:
# `{% if cookiecutter.auth == 'jwt' %}tokens.py{% endif %}`.
CONDITIONAL_NAME = re.compile(r"\{%\s*if (?P<condition>.+?)\s*%\}(?P<name>.+?)\{%\s*endif\s*%\}")
TEMPLATE_ROOT = next(REPO.glob("{{*cookiecutter.project_slug*}}"))


def test_conditional_files_follow_their_option(rendered: Rendered) -> None:
    """A file with a conditional name exists exactly when one of its variants' conditions holds."""
    context = load_context() | rendered.context | {"project_slug": rendered.slug}
    wanted: dict[str, bool] = {}
    for template_path in TEMPLATE_ROOT.rglob("*"):
        relative = str(template_path.relative_to(TEMPLATE_ROOT))
        found = CONDITIONAL_NAME.search(relative)
        if not found:
            continue
        condition = "{% if " + found["condition"] + " %}1{% endif %}"
        holds = jinja2.Template(condition).render(cookiecutter=context) == "1"
        target = CONDITIONAL_NAME.sub(lambda m: m["name"], relative)
        target = jinja2.Template(target).render(cookiecutter=context)
        wanted[target] = wanted.get(target, False) or holds
    assert wanted, "the template has no conditional file names to check"
    for target, holds in wanted.items():
        exists = (rendered.root / target).exists()
        assert exists == holds, f"{target}: exists={exists}, its conditions give {holds}"


def test_generated_workflows_pass_actionlint(rendered: Rendered) -> None:
    """The generated project's GitHub workflows pass actionlint."""
    workflows = sorted((rendered.root / ".github" / "workflows").glob("*.y*ml"))
    actionlint(workflows, rendered.root)


def test_docker_files_pass_their_linters(rendered: Rendered, combination: str) -> None:
    """With use_docker, hadolint finds nothing in the Dockerfile and compose.yaml is valid
    against the compose-spec schema; without it, neither file exists."""
    files = [rendered.root / "Dockerfile", rendered.root / "compose.yaml"]
    if not combinations()[combination]["use_docker"]:
        assert not any(path.exists() for path in files)
        return
    hadolint = template_tool("hadolint")
    run([hadolint, "--failure-threshold", "info", "--no-color", files[0]], rendered.root, 60)
    # check-jsonschema ships the compose-spec schema (vendor.compose-spec), so no download.
    schema = ["--builtin-schema", "vendor.compose-spec"]
    run([template_tool("check-jsonschema"), *schema, files[1]], rendered.root, 60)


def test_celery_is_there_exactly_with_use_celery(rendered: Rendered, combination: str) -> None:
    """With use_celery the worker is declared, locked and wired (command, unit, compose
    service); without it nothing of Celery is generated, imported or installed."""
    values = combinations()[combination]
    on = values["use_celery"]
    root = rendered.root
    metadata = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(dep.startswith("celery") for dep in metadata["dependencies"]) == on
    for lock in ("requirements.lock", "requirements-dev.lock"):
        assert ("\ncelery==" in (root / lock).read_text(encoding="utf-8")) == on, lock
    worker_files = [
        "config/celery.py",
        "bin/worker",
        f"deploy/systemd/{rendered.slug}-worker.service",
        f"{rendered.slug}/orders/tasks.py",
        "tests/test_worker.py",
    ]
    for name in worker_files:
        assert (root / name).exists() == on, name
    importing = [
        name
        for name in rendered.files
        if name.endswith(".py")
        and re.search(r"^\s*(from|import) celery\b", (root / name).read_text(), re.MULTILINE)
    ]
    assert bool(importing) == on, importing
    if values["use_docker"]:
        services = yaml.safe_load((root / "compose.yaml").read_text(encoding="utf-8"))["services"]
        assert ("worker" in services) == on
        if on:
            assert "healthcheck" in services["worker"]
