# civicmash: two commands on a fresh machine — `make demo` and `make test`.
# Everything the project needs is installed here (pip into .venv, npm for the map assets,
# Debian's Chromium for the browser tests when it is missing and we may install it).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    ?= out
PYTEST_ARGS ?=

.PHONY: install demo test test-fast bench chromium clean help

help:
	@echo "make demo   - install, generate the synthetic sample city, run the full pipeline, print output paths"
	@echo "make test   - install, then run the whole test suite (real-data tests read ../shared)"
	@echo "make bench  - run the benchmarks, results in bench/results/*.json"

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	touch $(VENV)/.installed

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
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install
	$(BIN)/python -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(OUT) .pytest_cache
