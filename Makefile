# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export OPENCALL_DATABASE_URL ?= sqlite:///./var/opencall.sqlite3

.PHONY: run test install lint unit quick bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
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
TEST_WORKERS ?= 2

unit: install
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile

# the quick loop while working: no browser, no real server processes, no whole demo cycles
quick: install
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow and not browser"

test: lint unit

bench: install
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	@echo "see bench/README.md for each benchmark's command"

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache tests/artifacts
