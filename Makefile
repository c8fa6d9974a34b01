# Coko — the two commands: `make run` and `make test`. Everything else is detail.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

# Development convenience: `make run` and `make bench-catalog` import goodbooks-10k (10,000
# books; CC BY-SA 4.0, read at run time, never shipped) from the shared data directory when it
# is there. Set COKO_GOODBOOKS_DIR to use another copy, or to nothing to skip it.
COKO_GOODBOOKS_DIR ?= $(abspath $(wildcard ../shared/data/recsys/goodbooks-10k))

.PHONY: run test test-split bench-events bench-auth bench-catalog bench-idle bench-payments lint-imports install services-down clean help

help:
	@echo "make run           start Coko with demo data on http://127.0.0.1:8000 (Ctrl-C stops)"
	@echo "make test          import contracts + the whole test suite (ARGS='-k relay' to filter)"
	@echo "make test-split    the suite again with every domain in its own database"
	@echo "make bench-events  end-to-end event throughput and lag (EVENTS=10000)"
	@echo "make bench-catalog catalogue read routes over HTTP at 10k and 100k books (DURATION=10 CONCURRENCY=8)"
	@echo "make bench-idle    CPU of an idle web + worker + relay + PostgreSQL + Redis (IDLE_SECONDS=60)"
	@echo "make bench-payments payments.api.has_access: warm cache against the database, p50/p99"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "coko needs Python 3.11 or newer (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "coko: installing dependencies into $(VENV)"
	@$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

install: $(STAMP)

run: install
	@COKO_GOODBOOKS_DIR='$(COKO_GOODBOOKS_DIR)' $(PY) -m coko.devtools.runner run

test: install
	@$(PY) -m coko.devtools.runner test $(ARGS)

test-split: install
	@COKO_SPLIT_DATABASES=1 $(PY) -m coko.devtools.runner test $(ARGS)

bench-events: install
	@$(PY) -m coko.devtools.runner bench-events --events $(or $(EVENTS),10000)

bench-auth: install
	@$(PY) -m coko.devtools.runner bench-auth

bench-payments: install
	@$(PY) -m coko.devtools.runner bench-payments $(ARGS)

bench-catalog: install
	@COKO_GOODBOOKS_DIR='$(COKO_GOODBOOKS_DIR)' $(PY) -m coko.devtools.runner bench-catalog \
		--duration $(or $(DURATION),10) --concurrency $(or $(CONCURRENCY),8) $(ARGS)

bench-idle: install
	@$(PY) -m coko.devtools.runner bench-idle --seconds $(or $(IDLE_SECONDS),60) $(ARGS)

lint-imports: install
	@$(VENV)/bin/lint-imports importlinter.ini

services-down:
	@$(PY) -m coko.devtools.services down

clean: services-down
	rm -rf var staticfiles
