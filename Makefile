# aduan — the two commands of the quick start are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test lint typecheck bench bench-email bench-scaleout eval clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

## run: set up, migrate the embedded SQLite database under ./var/ and start the gateway
run: $(STAMP)
	mkdir -p var
	$(BIN)/aduan db upgrade
	$(BIN)/aduan serve

## test: set up with the test extras and run lint, the layer contract, type checks and the whole suite
test: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

## bench: the ingest benchmark, paired with a bare aiohttp + SQLite handler (see README, "Benchmarks")
bench: $(TEST_STAMP)
	$(BIN)/python -m tests.bench.ingest --messages 5000 --concurrency 32 --pairs 3

## bench-email: intake and replies against a real Dovecot, django-helpdesk 2.6.1 and a bare SMTP loop (see README, "Benchmarks")
bench-email: $(TEST_STAMP)
	$(BIN)/python -m tests.bench.email --mails $(or $(MAILS),2000)

## bench-scaleout: serves and workers on PostgreSQL + Redis through faults (README, "Scale-out test")
SCALEOUT_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/aduan_scaleout
bench-scaleout: $(TEST_STAMP)
	$(BIN)/python -m tests.scaleout.run --database-url $(SCALEOUT_DATABASE_URL)

## eval: play the conversation corpus through the intake engine and print its scores
eval: $(TEST_STAMP)
	$(BIN)/python -m tests.conversation.evaluate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
