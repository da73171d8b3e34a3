# custguard — the two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export CUSTGUARD_DATA_DIR ?= $(CURDIR)/var
POSTGRES_URL ?= $(or $(CUSTGUARD_TEST_POSTGRES_URL),postgresql://postgres@127.0.0.1:5432/postgres)

# One random test order per `make test`, shared by every pass; `make test TEST_SEED=N` repeats it.
ifndef TEST_SEED
TEST_SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif
# Two workers for two cores; a module's tests stay on one worker so its shared data is built once.
TEST_WORKERS ?= 2
PYTEST := CUSTGUARD_TESTING=true $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile -p randomly --randomly-seed=$(TEST_SEED)
STAGE_TIMES := $(CUSTGUARD_DATA_DIR)/test-stage-times.txt
TEST_STAGES := install lint typecheck migrations sqlite postgres browser

.PHONY: demo test bench wrk install install-test chromium lint typecheck migrations-check test-sqlite test-postgres test-browser stage-install stage-lint stage-typecheck stage-migrations stage-sqlite stage-postgres stage-browser messages clean

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

## make test: install, lint, types, migrations, the suite on SQLite, the DB tests on PostgreSQL,
## the browser tests; one line per stage with its wall time, and a summary at the end.
test:
	@mkdir -p $(CUSTGUARD_DATA_DIR); : > $(STAGE_TIMES); status=0; \
	echo "custguard tests: random order seed $(TEST_SEED) (make test TEST_SEED=$(TEST_SEED) repeats it)"; \
	for stage in $(TEST_STAGES); do \
	  start=$$(date +%s%N); \
	  $(MAKE) --no-print-directory stage-$$stage TEST_SEED=$(TEST_SEED) || status=$$?; \
	  ms=$$(( ($$(date +%s%N) - start) / 1000000 )); \
	  line=$$(printf 'stage %-11s %5d.%d s' $$stage $$((ms / 1000)) $$((ms % 1000 / 100))); \
	  [ $$status = 0 ] || line="$$line   FAILED (exit $$status)"; \
	  echo "$$line" | tee -a $(STAGE_TIMES); \
	  [ $$status = 0 ] || break; \
	done; \
	echo "---- make test: wall time per stage (seed $(TEST_SEED)) ----"; cat $(STAGE_TIMES); \
	exit $$status

stage-install: install-test chromium
stage-lint: lint
stage-typecheck: typecheck
stage-migrations: migrations-check
stage-sqlite: test-sqlite
stage-postgres: test-postgres
stage-browser: test-browser

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing and we are not root: browser tests will fail"; fi; \
	fi

lint:
	$(BIN)/ruff check src bench

# The benchmarks (not part of `make test`): every bench/ script on SQLite, then on PostgreSQL,
# each printing its figures next to the baseline it is judged by; all output in one file.
BENCH_RESULTS ?= $(CUSTGUARD_DATA_DIR)/bench-results.txt
BENCH_SCRIPTS := request_path gate import_customers import_facts rescore
bench: install-test wrk
	@mkdir -p $(CUSTGUARD_DATA_DIR); status=0; \
	{ echo "custguard benchmarks, $$(date -u '+%Y-%m-%d %H:%M UTC'), commit $$(git rev-parse --short HEAD 2>/dev/null)"; \
	  nproc | sed 's/^/CPUs: /'; } > $(BENCH_RESULTS); \
	( for db in "" "--database-url $(POSTGRES_URL)"; do \
	    for script in $(BENCH_SCRIPTS); do \
	      echo; echo "== bench/$$script.py $$db"; \
	      $(BIN)/python bench/$$script.py $$db || status=1; \
	    done; \
	  done; exit $$status ) 2>&1 | tee -a $(BENCH_RESULTS); \
	echo "results in $(BENCH_RESULTS)"; exit $${PIPESTATUS[0]}

wrk:
	@if ! command -v wrk >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian's wrk for the HTTP benchmarks"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else echo "wrk is missing and we are not root: apt-get install wrk"; exit 1; fi; \
	fi

typecheck:
	$(BIN)/mypy src/custguard/policy

migrations-check:
	CUSTGUARD_TESTING=true $(BIN)/custguard makemigrations --check --dry-run

test-sqlite:
	CUSTGUARD_TEST_PASS=sqlite $(PYTEST) -m "not browser"

test-postgres:
	@CUSTGUARD_TESTING=true $(BIN)/python -m custguard.testing.postgres_pass "$(POSTGRES_URL)" -- \
	  env CUSTGUARD_TEST_PASS=postgres $(PYTEST) -m "django_db and not browser"

# One process: one live server and one Chromium for all the browser tests.
test-browser:
	CUSTGUARD_TEST_PASS=browser $(PYTEST) -n 0 -m browser

messages:
	cd src/custguard && CUSTGUARD_DEBUG=true ../../$(BIN)/custguard makemessages -l zh_Hans -l en --no-obsolete && CUSTGUARD_DEBUG=true ../../$(BIN)/custguard compilemessages

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
