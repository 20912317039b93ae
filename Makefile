# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# One uvicorn worker on a 2-core host that also runs PostgreSQL (this one, docker-compose.yml): a second
# competes with the database for the cores and the standing check loses (docs/performance.md, "Workers").
# On a host of its own, one worker per core.
WORKERS ?= 1

.PHONY: run test setup install lock serve worker bench docs clean

# The lock (requirements/): every package pinned with its hashes, for Python 3.11 on Linux.
# runtime.txt is what the image installs; dev.txt (runtime + the dev extras) is what make installs.
# pyproject.toml keeps the lower bounds; `make lock` re-resolves them to the newest releases.
LOCK := requirements/dev.txt
UV_VERSION ?= 0.13.9
LOCK_ARGS := --generate-hashes --python-version 3.11 --python-platform linux --annotation-style line --quiet

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install only when the lock (or the project's own metadata) changes. Every dependency comes from
# the lock, its hash checked; then the project itself, editable, without resolving anything more.
$(VENV)/.installed: $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

# Re-resolve the lock from pyproject.toml (after changing a dependency, or to take new releases;
# UPGRADE= keeps the pins that still satisfy it: `make lock UPGRADE=`). Uses uv's resolver, pinned.
# The runtime lock is constrained by the dev one, so both pin the same versions.
UPGRADE ?= --upgrade
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet 'uv==$(UV_VERSION)'
	$(BIN)/uv pip compile pyproject.toml --extra dev $(LOCK_ARGS) $(UPGRADE) \
		--custom-compile-command 'make lock' -o requirements/dev.txt
	$(BIN)/uv pip compile pyproject.toml $(LOCK_ARGS) -c requirements/dev.txt \
		--custom-compile-command 'make lock' -o requirements/runtime.txt

# Schema at head, rulesets loaded, and on a new database a development key printed.
setup: install
	mkdir -p var
	$(BIN)/python -m app setup --port $(PORT)

run: setup serve

# The production command (Dockerfile, docker-compose.yml and bench/run.py say the same): uvloop and
# httptools; no access log in Python (it cost a tenth of a standing check: log at the load balancer).
serve:
	$(BIN)/uvicorn app.main:app --host $(HOST) --port $(PORT) --workers $(WORKERS) --loop uvloop --http httptools --no-access-log --no-proxy-headers --timeout-graceful-shutdown 25

worker: setup
	$(BIN)/python -m app worker

# The suite on every core (pytest-xdist; at most 4 workers): each worker makes a database of its own.
# TEST_ARGS= runs it in one process.
TEST_ARGS ?= -n auto --maxprocesses=4
test: install
	$(BIN)/python -m pytest $(TEST_ARGS)

# Benchmarks (bench/run.py): SQLite by default, PostgreSQL when BENCH_DATABASE_URL names a server's
# maintenance database (the suite creates and drops its own database beside it). Writes bench/RESULTS.md.
bench: install
	WORKERS=$(WORKERS) $(BIN)/python -m bench.run $(BENCH_ARGS)

# The documentation site (mkdocs.yml, docs/) into site/. --strict: a broken link or anchor fails, as
# in `make test` (tests/test_docs_site.py). `$(BIN)/mkdocs serve` to read it while writing.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) var site .pytest_cache
