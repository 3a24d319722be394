# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export OPENCALL_DATABASE_URL ?= sqlite:///./var/opencall.sqlite3

.PHONY: run test install lint unit quick bench clean

# uv (from PyPI, into the venv) installs the packages: on the 2-core test machine a
# fresh clone's install took 72 s with it and 633 s with pip (docs/testing.md); pip
# does it where uv cannot be had
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@if $(BIN)/python -m pip install -q uv && \
	  $(BIN)/uv pip install -q --python $(BIN)/python -e '.[test]'; then :; \
	else \
	  $(BIN)/python -m pip install -q -e '.[test]'; \
	fi
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/opencall db upgrade
	$(BIN)/opencall demo build --if-empty --cycles
	# the demo runs each request's jobs inline (explicitly); production runs `opencall worker`
	OPENCALL_INLINE_JOBS=true $(BIN)/opencall serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

# pytest-xdist: TEST_WORKERS processes (each with its own PostgreSQL database, see
# tests/conftest.py), a file's tests on one worker so that its demo world is built once
# (except the tests named in tests/conftest.py's SPREAD, sent one by one),
# the files with slow or browser tests first
TEST_WORKERS ?= 2

# PYTHONDONTWRITEBYTECODE (set on the test machine) cleared for the tests: with it no
# .pyc was ever written (uv, unlike pip, writes none at install), so each test process
# (and each server the tests start) compiled every module it imported from source, and
# pytest rewrote the asserts of every test module and of its plugins' packages
# (schemathesis' ~250 modules) again: 10.3 s of CPU for one trivial test instead of
# 4.6 s (docs/testing.md). The first process to import a module now writes its .pyc
# (to __pycache__ folders, which git ignores)
TEST_ENV := PYTHONDONTWRITEBYTECODE=

# PYTEST_ARGS: more options for a measured run, e.g.
# `make test PYTEST_ARGS="--cpu-report /tmp/cpu.txt tests"` (docs/testing.md)
PYTEST_ARGS ?=

unit: install
	$(TEST_ENV) $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# the quick loop while working: no browser, no real server processes, no whole demo cycles
quick: install
	$(TEST_ENV) $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "not slow and not browser"

test: lint unit

bench: install
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	@echo "see bench/README.md for each benchmark's command"

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache tests/artifacts
