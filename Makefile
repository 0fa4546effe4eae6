# Entry points: make run, make test, make test-fast, make lint. Works on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
FLASK := $(BIN)/flask --app screening
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run serve test test-fast test-long screenshots lint format check-questions db clean

# What the app needs to run (make run, make serve): requirements.txt only.
$(RUN_STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed (found %s)" % sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $(RUN_STAMP)

# The test and lint tools too (make test and the rest).
$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11 or newer is needed (found %s)" % sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

db: $(RUN_STAMP)
	$(FLASK) db upgrade

# On a first run (no accounts yet) `flask run` prints the whole setup link, with host and port.
run: db
	$(FLASK) check-questions
	$(FLASK) run --host $(HOST) --port $(PORT)

# The whole suite on SQLite, then again on PostgreSQL when TEST_DATABASE_URL is set
# (.ci/run starts a server and sets it).
# Production-style serving: gunicorn with screening/gunicorn_conf.py (several workers).
# Production mode unless told otherwise: Secure, __Host- cookies, and no start with a
# weak SECRET_KEY or DEBUG on. Serve it over HTTPS (docs/security.md); browsers also
# accept Secure cookies from http://127.0.0.1 and http://localhost, for a try-out.
# The outbox relay (alerts and webhooks, docs/alerts.md) runs beside gunicorn and stops with it.
serve: db
	@export SCREENING_PRODUCTION=$${SCREENING_PRODUCTION:-true}; \
	$(FLASK) outbox run & relay=$$!; \
	trap 'kill $$relay 2>/dev/null; wait $$relay' EXIT INT TERM; \
	$(BIN)/gunicorn -c python:screening.gunicorn_conf

test: $(STAMP)
	env -u TEST_DATABASE_URL $(BIN)/pytest
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== The same suite on PostgreSQL =="; \
		$(BIN)/pytest; \
	else \
		echo "TEST_DATABASE_URL is not set: the suite ran on SQLite only."; \
	fi

# Everything but the slow (load, concurrency), browser and fuzz tests, on both cores
# (pytest-xdist; each test has its own SQLite file). On PostgreSQL the tests share one
# database, so they run one at a time there.
FAST := not slow and not browser and not fuzz
test-fast: $(STAMP)
	$(BIN)/pytest -m "$(FAST)" $(if $(TEST_DATABASE_URL),,-n 2)

# The load and fault tests at ten times the size (400 patients over HTTP).
test-long: $(STAMP)
	LOAD_PATIENTS=400 LOAD_THREADS=32 $(BIN)/pytest -s tests/test_load.py tests/test_concurrency.py

# A PNG of every page (phone and desktop) in screenshots/, which git ignores.
screenshots: $(STAMP)
	$(BIN)/python -m tests.screenshots screenshots

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check-questions: $(STAMP)
	$(FLASK) check-questions

# Languages (docs/languages.md): extract the pages' words into their template, then bring
# every catalog, the pages' and the questionnaire's, up to today's English. Catalogs are
# compiled in memory when the app starts: there is no .mo file to build.
.PHONY: messages
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k lazy_gettext -k _l --no-location --sort-output --omit-header -o translations/pages/messages.pot .
	$(FLASK) translations update

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Benchmarks (not part of the test suite): one table, the figures also in
# benchmarks/results.json. SQLite always; PostgreSQL too when BENCH_DATABASE_URL is
# set (a postgresql+psycopg URL; that database is emptied). About 5 minutes on SQLite
# alone; `make bench ARGS=--quick` (or `make bench-quick`) takes under a minute.
.PHONY: bench bench-quick
bench: $(STAMP)
	$(BIN)/python -m benchmarks.run $(ARGS)

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks.run --quick $(ARGS)
