# custguard — the two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export CUSTGUARD_DATA_DIR ?= $(CURDIR)/var
POSTGRES_URL ?= $(or $(CUSTGUARD_TEST_POSTGRES_URL),postgresql://postgres@127.0.0.1:5432/postgres)

.PHONY: demo test install install-test lint typecheck migrations-check test-sqlite test-postgres test-browser messages serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## make demo: install, migrate SQLite under var/, load the demo data once, serve on :8000
demo: install
	CUSTGUARD_DEBUG=true $(BIN)/custguard migrate --no-input -v 0
	CUSTGUARD_DEBUG=true $(BIN)/custguard demo --if-empty
	@echo "custguard: open http://127.0.0.1:8000/ and log in with one of the users above"
	CUSTGUARD_DEBUG=true $(BIN)/custguard serve --host 127.0.0.1 --port 8000 --with-jobs

## make test: lint, types, migrations, the suite on SQLite, the DB tests on PostgreSQL, browser
test: install-test chromium lint typecheck migrations-check test-sqlite test-postgres test-browser

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing and we are not root: browser tests will fail"; fi; \
	fi

lint:
	$(BIN)/ruff check src bench

typecheck:
	$(BIN)/mypy src/custguard/policy

migrations-check:
	CUSTGUARD_TESTING=true $(BIN)/custguard makemigrations --check --dry-run

test-sqlite:
	CUSTGUARD_TESTING=true $(BIN)/pytest -m "not browser" -q

test-postgres:
	@CUSTGUARD_TESTING=true $(BIN)/python -m custguard.testing.postgres_pass "$(POSTGRES_URL)" -- $(BIN)/pytest -m "django_db and not browser" -q

test-browser:
	CUSTGUARD_TESTING=true $(BIN)/pytest -m browser -q

messages:
	cd src/custguard && ../../$(BIN)/custguard makemessages -l zh_Hans -l en --no-obsolete && ../../$(BIN)/custguard compilemessages

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
