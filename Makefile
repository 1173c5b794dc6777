# Insyn. `make run` serves the demo on http://127.0.0.1:5000; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
PYTEST_ARGS ?=
export PORTAL_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: help run run-full test lint format translations system-packages clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed-run

translations: ## Compile the translation catalogues (English)
	@if [ -d translations ]; then $(BIN)/pybabel compile -f -d translations >/dev/null; fi

# Links in mails, letters and feeds point at the port served, unless PORTAL_BASE_URL is
# given. Only for these targets: `make test` keeps its own configuration.
run run-full: export PORTAL_BASE_URL ?= http://127.0.0.1:$(PORT)

run: $(VENV)/.installed-run translations ## Install, migrate, load the demo, serve on 127.0.0.1:$(PORT) with a job worker (no virus scanner)
	$(BIN)/flask --app portal db upgrade
	$(BIN)/flask --app portal demo load
	@if [ -n "$$PORTAL_CLAMD_URL" ]; then $(BIN)/flask --app portal storage rescan --include-not-scanned || true; fi
	@echo "Insyn: http://127.0.0.1:$(PORT)/ (links in mails and letters: $(PORTAL_BASE_URL)/)"
	sh scripts/run-web-and-worker.sh $(BIN) 127.0.0.1 $(PORT)

run-full: $(VENV)/.installed-run ## Like run, with a local virus scanner (clamd), so that files can be published
	sh scripts/with-clamd.sh $(MAKE) --no-print-directory run

system-packages: ## Install the Debian packages the tests need (clamav-daemon, chromium, LibreOffice and fonts)
	sh scripts/ensure-system-packages.sh

test: lint $(VENV)/.installed-dev translations system-packages ## Lint, then run the whole suite (TEST_DATABASE_URL for PostgreSQL)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev ## ruff check and ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev ## ruff format
	$(BIN)/ruff format .

clean: ## Remove the virtualenv and the local instance data
	rm -rf $(VENV) instance
