# `make run` and `make test` are the whole quick start: each sets up .venv when needed.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test bench e2e screenshots clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

# The app and its JSON API (/api/v1) on one port (forge/ui/server.py).
run: $(STAMP)
	$(PY) -m forge.ui.server --port $${FORGE_PORT:-8501}

# Lint, format check and the import-linter layering contracts first: a wrong arrow fails the build.
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest $(PYTEST_ARGS)

# The browser tests that save pictures, writing them into docs/screenshots/ (a normal test run keeps them in a
# temporary folder). Needs Debian's chromium; commit the PNGs it changes.
screenshots: $(STAMP)
	FORGE_UPDATE_SCREENSHOTS=1 $(PY) -m pytest tests/e2e/test_journey.py tests/e2e/test_first_hour.py tests/e2e/test_compare_models.py -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .import_linter_cache
