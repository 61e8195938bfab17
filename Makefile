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

# The template's options (cookiecutter.json): any of them set as a make or environment
# variable (`use_celery=true make demo`, `make demo auth=jwt`) is passed to the demo's render.
OPTIONS := $(shell $(PYTHON) -c 'import json; print(*(k for k in json.load(open("cookiecutter.json")) if not k.startswith("_")))')
DEMO_OPTIONS := $(strip $(foreach option,$(OPTIONS),$(if $(value $(option)),$(option)=$(value $(option)))))

## demo: render the project into .demo/ and serve it on http://127.0.0.1:8000, with the
##       default options or those given (`use_celery=true make demo`: a worker beside it)
demo: $(VENV)/.installed
	rm -rf $(DEMO_PROJECT)
	$(BIN)/cookiecutter --no-input --output-dir $(DEMO_DIR) . project_name="Chat Project" $(DEMO_OPTIONS)
	$(MAKE) -C $(DEMO_PROJECT) demo

## test: render every combination, lint it and run each generated project's own suite
##       (PYTEST_ARGS="--combination <id>" for one; `python -m tests.matrix` lists the ids)
PYTEST_ARGS ?=
# The matrix is bound by CPU on two cores (1.7 busy): four workers still overlap the
# suites' waits, and use less CPU than six (1567 s against 1745 s for the same run).
PYTEST_WORKERS ?= 4
test: $(VENV)/.installed
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

## lock: re-resolve every generated project's requirements*.lock to the newest versions
##       its pyproject.toml allows (one render per auth, asgi_server and use_celery variant; needs PyPI)
lock: $(VENV)/.installed
	$(BIN)/python -m scripts.lock $(if $(KEEP),--keep)

lint: $(VENV)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) $(DEMO_DIR) .cache .pytest_cache
