# jmmctap: `make run` serves http://127.0.0.1:8000/tap, `make test` runs the whole suite.
# Both install what is missing first (Debian packages when root; a .venv with the package).
SHELL := /bin/bash
VENV  := .venv
BIN   := $(VENV)/bin
PYTHON ?= python3

.PHONY: run test lint system-run system-test venv clean

run: system-run venv
	$(BIN)/jmmctap db init
	$(BIN)/jmmctap load-samples
	$(BIN)/jmmctap serve

test: system-test venv
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

system-run:
	@scripts/install-system-deps.sh run

system-test:
	@scripts/install-system-deps.sh test

venv: $(VENV)/.installed

# constraints.txt pins every distribution to the versions the suite passed with, so a new machine installs
# exactly those; a change to it or to pyproject.toml rebuilds the venv from scratch (nothing stale survives).
$(VENV)/.installed: pyproject.toml constraints.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache src/*.egg-info
