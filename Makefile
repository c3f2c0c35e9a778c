# The two commands of the README: `make run` (the main job) and `make test` (the test suite).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint install docs bench

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/python -m osteotwin.physiology.compile
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/osteotwin serve

lint: install
	$(BIN)/ruff check .

test: install lint
	eval "$$(scripts/test-postgres.sh start)"; $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python benchmarks/run.py
