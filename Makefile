# Two commands on a fresh machine with Python 3.11+ and make: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

LOCK_FLAGS := --quiet --strip-extras --no-emit-index-url --no-emit-trusted-host --no-emit-find-links

.PHONY: run test openapi lint bench abuse lock clean

$(STAMP): pyproject.toml requirements-dev.lock
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is required (found: $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

run: $(STAMP)  ## migrate the embedded SQLite database and serve on http://127.0.0.1:8000
	$(BIN)/privacy-api serve

test: $(STAMP)  ## the whole suite (PostgreSQL too when PRIVACY_TEST_DATABASE_URL is set)
	$(BIN)/pytest -q

openapi: $(STAMP)  ## regenerate openapi.yaml from the app
	$(BIN)/privacy-api openapi --output openapi.yaml

lint: $(STAMP)  ## ruff, then mypy on app/ (configured in pyproject.toml)
	$(BIN)/ruff check app migrations tests bench scripts
	$(BIN)/mypy

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	@touch $@

bench: $(VENV)/.bench-installed  ## the audited reads against bare and raw reads (needs wrk); BENCH_ARGS=...
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lock: $(STAMP)  ## re-pin requirements.lock (runtime) and requirements-dev.lock after editing pyproject.toml
	$(BIN)/pip-compile $(LOCK_FLAGS) --output-file requirements.lock pyproject.toml
	$(BIN)/pip-compile $(LOCK_FLAGS) --extra dev --output-file requirements-dev.lock pyproject.toml

abuse: $(STAMP)  ## oversize bodies and a request flood against a served instance (bench/abuse.py)
	$(BIN)/python bench/abuse.py

clean:
	rm -rf $(VENV) .pytest_cache
