# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# One uvicorn worker on a 2-core host that also runs PostgreSQL (this one, docker-compose.yml): a second
# competes with the database for the cores and the standing check loses (README, "The hot path").
# On a host of its own, one worker per core.
WORKERS ?= 1

.PHONY: run test setup install serve worker bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-install only when the dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

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

test: install
	$(BIN)/python -m pytest

# Benchmarks (bench/run.py): SQLite by default, PostgreSQL when BENCH_DATABASE_URL names a server's
# maintenance database (the suite creates and drops its own database beside it). Writes bench/RESULTS.md.
bench: install
	WORKERS=$(WORKERS) $(BIN)/python -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache
