# Two commands on a fresh machine with Python 3.11+ and make: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test openapi lint bench abuse clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Python 3.11 or newer is required (found: $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)  ## migrate the embedded SQLite database and serve on http://127.0.0.1:8000
	$(BIN)/privacy-api serve

test: $(STAMP)  ## the whole suite (PostgreSQL too when PRIVACY_TEST_DATABASE_URL is set)
	$(BIN)/pytest -q

openapi: $(STAMP)  ## regenerate openapi.yaml from the app
	$(BIN)/privacy-api openapi --output openapi.yaml

lint: $(STAMP)
	$(BIN)/ruff check app migrations tests bench

bench: $(STAMP)  ## throughput of the audited read against a bare read (needs wrk)
	$(BIN)/python bench/run.py

abuse: $(STAMP)  ## oversize bodies and a request flood against a served instance (bench/abuse.py)
	$(BIN)/python bench/abuse.py

clean:
	rm -rf $(VENV) .pytest_cache
