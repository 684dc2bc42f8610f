# civicmash: two commands on a fresh machine — `make demo` and `make test`.
# Everything the project needs is installed here (pip into .venv, npm for the map assets,
# Debian's Chromium for the browser tests when it is missing and we may install it).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= out
PYTEST_ARGS ?=
# pytest-xdist workers for `make test` (tests/conftest.py keeps each city's costly run on one worker)
JOBS ?= auto

.PHONY: install demo test test-fast bench chromium clean help lock mutants

help:
	@echo "make demo   - install, generate the synthetic sample city, run the full pipeline, print output paths"
	@echo "make test   - install, then run the whole test suite (real-data tests read ../shared)"
	@echo "make bench  - run the benchmarks, results in bench/results/*.json"
	@echo "make lock   - refreeze constraints.txt (the tested package set) from .venv after changing a pin"

# The tested set: every dependency at the version in constraints.txt (a freeze of the venv the tests passed in).
$(VENV)/.installed: pyproject.toml constraints.txt setup.py analysis/_fastroute.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,bench,notebook]"
	touch $(VENV)/.installed

# After changing a pin in pyproject.toml: install it without -c, run the tests, then refreeze the venv.
lock:
	test -x $(BIN)/python
	$(BIN)/python -m pip freeze --all --exclude-editable > $(VENV)/freeze.txt
	$(BIN)/python -m pip install --quiet --dry-run --ignore-installed -c $(VENV)/freeze.txt \
	  --report $(VENV)/lock.json -e ".[dev,bench,notebook]"
	{ sed -n '/^#/p' constraints.txt; $(BIN)/python -c "import json, sys; r = json.load(open(sys.argv[1])); \
	  [print(i['metadata']['name'] + '==' + i['metadata']['version']) for i in r['install'] \
	   if i['metadata']['name'].lower() != 'civicmash']" $(VENV)/lock.json | sort -f; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch node_modules/.installed

install: $(VENV)/.installed node_modules/.installed

# Browser tests drive Debian's Chromium (Playwright's own browser download does not work offline).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing and cannot be installed here: browser tests will be skipped"; fi; }

demo: install
	$(BIN)/civicmash demo --out $(OUT)

test: install chromium
	$(BIN)/python -m pytest -n $(JOBS) --dist loadgroup $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(OUT) .pytest_cache

# Mutation testing (docs/testing.md; not part of `make test`): mutmut over a copy of the rooms laid out as
# installed (build/mutmut/civicmash/<room>), configured in pyproject.toml [tool.mutmut]; then StrykerJS over
# the page scripts when package.json has its script. MUTANTS: mutmut name globs of the functions to mutate
# (default: the guard, quarantine, escaping and incremental functions; MUTANTS='*' mutates the five whole
# modules). Survivors: `cd build/mutmut && ../../.venv/bin/mutmut results`.
MUTMUT_DIR := build/mutmut
MUTANTS    ?= 'civicmash.warehouse.sql.x_check_query*' 'civicmash.warehouse.sql.x__check_explained*' \
              'civicmash.warehouse.sql.x__strip_*' 'civicmash.warehouse.load.x_stored_counts*' \
              'civicmash.warehouse.load.x__quarantine_checks*' 'civicmash.warehouse.load.x__watermark*' \
              'civicmash.maps.render.x_json_for_html*' 'civicmash.maps.render.x__portal_href*' \
              'civicmash.maps.render.x__jsonable*' 'civicmash.maps.render.x__csp*' \
              'civicmash.connectors.socrata.x__incremental_pages*' 'civicmash.connectors.socrata.x__quote*' \
              'civicmash.connectors.checkpoint.xǁCheckpointǁresume*' 'civicmash.connectors.checkpoint.xǁCheckpointǁlast*'
ROOMS      := flows connectors warehouse analysis maps cities devkit

mutants: install
	rm -rf $(MUTMUT_DIR)
	mkdir -p $(MUTMUT_DIR)/civicmash
	cp civicmash/__init__.py $(MUTMUT_DIR)/civicmash/
	for room in $(ROOMS); do cp -R $$room $(MUTMUT_DIR)/civicmash/$$room; done
	cp -R tests pyproject.toml $(MUTMUT_DIR)/
	find $(MUTMUT_DIR) -name __pycache__ -prune -exec rm -rf {} +
	cd $(MUTMUT_DIR) && CIVICMASH_ASSETS=$(CURDIR)/node_modules $(CURDIR)/$(BIN)/mutmut run \
	  --max-children 2 $(MUTANTS)
	cd $(MUTMUT_DIR) && $(CURDIR)/$(BIN)/mutmut export-cicd-stats && cat mutants/mutmut-cicd-stats.json
	cd $(MUTMUT_DIR) && $(CURDIR)/$(BIN)/mutmut results
	@if grep -q '"mutants:js"' package.json; then npm run mutants:js; \
	  else echo "package.json has no mutants:js script: StrykerJS skipped"; fi
