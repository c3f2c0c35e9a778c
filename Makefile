# The two commands of the README: `make run` (the main job) and `make test` (the test suite).
# `make test` leaves the working tree as it found it: screenshots of the browser tests go to a
# temporary folder; `make screenshots` (or `make docs`) regenerates the ones in docs/screenshots/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint install docs screenshots bench

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

# The throw-away PostgreSQL server is stopped whether pytest passes or fails; pytest's exit code is kept.
test: install lint
	eval "$$(scripts/test-postgres.sh start)"; \
	$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	scripts/test-postgres.sh stop; exit $$status

# The screenshots of docs/screenshots/ and docs/web.md, from the browser tests' SQLite run.
screenshots: install
	OSTEOTWIN_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/web/test_browser.py

# Every generated document: the clinic rules, the parameter table and the screenshots.
docs: install screenshots
	$(BIN)/python scripts/clinic_docs.py
	$(BIN)/osteotwin parameters --markdown > docs/parameters.md

bench: install
	$(BIN)/python benchmarks/run.py
