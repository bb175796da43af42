# aduan — the two commands of the quick start are `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# `make test` runs the suite in this many processes (pytest-xdist; 0: in one).
# Most tests wait on a database, a browser or a subprocess, so one more than
# the cores keeps them busy; each gets its own test databases (tests/services.py).
TEST_WORKERS ?= $(shell $(PYTHON) -c "import os; print(min(8, (os.cpu_count() or 1) + 1))")

# The exact versions installed, with their hashes (README.md, "Dependencies").
LOCK      := requirements.lock
TEST_LOCK := requirements-test.lock
# pip-compile's options: hashes of every file a pin may install, no index or
# find-links lines of this machine in the files, setuptools/pip pinned too.
COMPILE   := $(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
             --no-emit-index-url --no-emit-find-links --no-emit-trusted-host --resolver=backtracking

.PHONY: run test lint typecheck bench bench-email bench-scaleout eval clean lock catalogues catalogues-compiled

# The translation catalogues (docs/translations.md, "Translations"): the .po
# files are the source; the .mo files beside them are built from them (never
# committed) before anything imports handlers.i18n.
PO  := $(wildcard handlers/locale/*/LC_MESSAGES/aduan.po)
MO  := $(PO:.po=.mo)
POT := handlers/locale/aduan.pot
# The translation functions and where their message ids are: t(language, id),
# tn(language, singular, plural, n), N_(id); _(), gettext(), ngettext() in templates.
EXTRACT_KEYWORDS := --no-default-keywords -k t:2 -k tn:2,3 -k N_ -k _ -k gettext -k ngettext:1,2

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Only what the lock names, each file checked against its hash; then aduan
# itself without resolving anything; `pip check` fails when pyproject.toml
# asks for something the lock lacks (run `make lock`).
$(STAMP): $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check || { echo 'the lock lacks what pyproject.toml asks for: run make lock' >&2; exit 1; }
	touch $@

$(TEST_STAMP): $(TEST_LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(TEST_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check || { echo 'the lock lacks what pyproject.toml asks for: run make lock' >&2; exit 1; }
	touch $@ $(STAMP)

## lock: resolve pyproject.toml's ranges again and rewrite both hashed lock files
## (after adding or changing a dependency; UPGRADE=1 also moves every pin to the newest allowed)
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet 'pip-tools>=7.4,<8'
	$(COMPILE) $(if $(UPGRADE),--upgrade) --output-file $(LOCK) pyproject.toml
	$(COMPILE) $(if $(UPGRADE),--upgrade) --extra test --constraint $(LOCK) --output-file $(TEST_LOCK) pyproject.toml

# Targets on the test stamp build them in a second make, which sees the
# runtime stamp the test install touched.
$(MO): $(PO) | $(STAMP)
	$(BIN)/pybabel compile --statistics -d handlers/locale -D aduan

## catalogues-compiled: build the .mo files from the .po files (make run and make test do it)
catalogues-compiled: $(MO)

## catalogues: extract every text of the code and templates (babel.cfg) into
## handlers/locale/aduan.pot and update the .po files from it; then translate
## what is new or fuzzy (tests/test_catalogues.py checks it)
catalogues: | $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg $(EXTRACT_KEYWORDS) --add-location=file \
	    --project=aduan --copyright-holder="the aduan authors" -o $(POT) .
	$(BIN)/pybabel update -i $(POT) -d handlers/locale -D aduan --ignore-obsolete \
	    --ignore-pot-creation-date
	@$(MAKE) --no-print-directory catalogues-compiled

## run: set up, migrate the embedded SQLite database under ./var/ and start the gateway
run: $(STAMP) $(MO)
	mkdir -p var
	$(BIN)/aduan db upgrade
	$(BIN)/aduan serve

## test: set up with the test extras and run lint, the layer contract, type checks and the whole suite
test: $(TEST_STAMP)
	@$(MAKE) --no-print-directory catalogues-compiled
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

lint: $(TEST_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

## bench: the ingest benchmark, paired with a bare aiohttp + SQLite handler (see README, "Benchmarks")
bench: $(TEST_STAMP)
	@$(MAKE) --no-print-directory catalogues-compiled
	$(BIN)/python -m tests.bench.ingest --messages 5000 --concurrency 32 --pairs 3

## bench-email: intake and replies against a real Dovecot, django-helpdesk 2.6.1 and a bare SMTP loop (see README, "Benchmarks")
bench-email: $(TEST_STAMP)
	@$(MAKE) --no-print-directory catalogues-compiled
	$(BIN)/python -m tests.bench.email --mails $(or $(MAILS),2000)

## bench-scaleout: serves and workers on PostgreSQL + Redis through faults (README, "Scale-out test")
SCALEOUT_DATABASE_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/aduan_scaleout
bench-scaleout: $(TEST_STAMP)
	@$(MAKE) --no-print-directory catalogues-compiled
	$(BIN)/python -m tests.scaleout.run --database-url $(SCALEOUT_DATABASE_URL)

## eval: play the conversation corpus through the intake engine and print its scores
eval: $(TEST_STAMP)
	@$(MAKE) --no-print-directory catalogues-compiled
	$(BIN)/python -m tests.conversation.evaluate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info $(MO) $(POT)
