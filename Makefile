# fairdebt: `make demo` and `make test` are all a new user needs (see README.md).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST := $(BIN)/pytest -p no:cacheprovider
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test test-sqlite test-postgres bench install assets system-deps clean

demo: install assets
	$(BIN)/fairdebt demo

test: install assets system-deps test-sqlite test-postgres
	@echo "make test: unit, SQLite (with browser) and PostgreSQL suites passed"

# Unit, integration and browser tests on SQLite.
test-sqlite:
	FAIRDEBT_HOME=$$(mktemp -d -t fairdebt-test.XXXXXX) $(PYTEST) -n 2 tests

# The integration suite again on a throwaway PostgreSQL cluster (initdb + pg_ctl; removed after).
test-postgres:
	FAIRDEBT_HOME=$$(mktemp -d -t fairdebt-test.XXXXXX) $(BIN)/python -m fairdebt.testing.pgcluster -- \
		$(PYTEST) -n 2 tests/integration

BENCH_DWP ?= var/bench/dwp

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/synth_dwp.py --out $(BENCH_DWP)
	$(BIN)/python bench/prioritise.py --dwp $(BENCH_DWP) --debts 1000000 --advance 2 --postgres
	$(BIN)/python bench/prioritise.py --dwp $(BENCH_DWP) --advance 2
	$(BIN)/python bench/linkage.py
	$(BIN)/python bench/single_view.py

install: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

assets: install
	scripts/build-assets.sh

# Browser tests drive Debian's chromium (Playwright cannot download browsers here); PostgreSQL
# server binaries for the throwaway test cluster.
system-deps:
	@if [ ! -x /usr/lib/chromium/chromium ] || ! fc-list 2>/dev/null | grep -qi "liberation sans"; then \
		echo "Installing chromium and fonts-liberation ..."; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium fonts-liberation >/dev/null; fi
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
		echo "Installing the PostgreSQL server ..."; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq postgresql >/dev/null; fi

clean:
	rm -rf $(VENV) node_modules src/fairdebt/web/static/govuk
