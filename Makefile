# The template's entry points: `make demo`, `make test` and `make lock`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := .demo
DEMO_PROJECT := $(DEMO_DIR)/chat_project
export UV_CACHE_DIR ?= $(CURDIR)/.cache/uv

.PHONY: demo test lint lock clean

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv

$(VENV)/.installed: pyproject.toml | $(BIN)/uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r pyproject.toml --extra test
	touch $@

## demo: render the default project into .demo/ and serve it on http://127.0.0.1:8000
demo: $(VENV)/.installed
	rm -rf $(DEMO_PROJECT)
	$(BIN)/cookiecutter --no-input --output-dir $(DEMO_DIR) . project_name="Chat Project"
	$(MAKE) -C $(DEMO_PROJECT) demo

## test: render every combination, lint it and run each generated project's own suite
##       (PYTEST_ARGS="--combination <id>" for one; `python -m tests.matrix` lists the ids)
PYTEST_ARGS ?=
# Generated suites spend most of their time waiting on sockets and servers, not on the CPU
# (about 11 s of CPU in 40 s): six at once keep two cores busy.
PYTEST_WORKERS ?= 6
test: $(VENV)/.installed
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

## lock: re-resolve every generated project's requirements*.lock to the newest versions
##       its pyproject.toml allows (one render per auth and asgi_server pair; needs PyPI)
lock: $(VENV)/.installed
	$(BIN)/python -m scripts.lock $(if $(KEEP),--keep)

lint: $(VENV)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) $(DEMO_DIR) .cache .pytest_cache
