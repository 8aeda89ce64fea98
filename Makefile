# Vigil — developer entry points. Two commands matter on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# Tests use the local PostgreSQL and Redis unless DATABASE_URL / CELERY_TEST_BROKER_URL say otherwise.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/vigil
PYTEST_ARGS ?=
# Typed strictly: the pure engines; typed: services and the ingestion pipeline.
MYPY_TARGETS := core/services.py core/outbox.py core/ingest audit/services.py portfolios/services.py portfolios/demo.py \
	portfolios/engine riskapp/engine surveillance/engine execution_quality/engine wealth/engine \
	riskapp/services surveillance/services execution_quality/services wealth/services

.PHONY: run test install install-dev migrate demo serve worker beat bench bench-load lint format check services clean

$(VENV)/.installed: requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: embedded defaults (SQLite under var/, tasks in-process) — install, migrate, load the demo, set
## demo risk limits and run risk for every portfolio, load the surveillance demo queue, serve.
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(PY) manage.py risk_demo_setup
	$(PY) manage.py surveillance_demo_setup
	$(PY) manage.py wealth_demo_setup
	$(PY) manage.py runserver $(HOST):$(PORT)

migrate: install
	$(PY) manage.py migrate --noinput

demo: install
	$(PY) manage.py load_demo

serve: install
	$(PY) manage.py runserver $(HOST):$(PORT)

worker: install
	$(VENV)/bin/celery -A config worker -Q default,risk,surveillance,tca,wealth --concurrency 2 --loglevel INFO

beat: install
	$(VENV)/bin/celery -A config beat --loglevel INFO

## services: start the local PostgreSQL and Redis if they are installed but not answering.
services:
	@scripts/ensure-services.sh

## test: the whole suite against the local PostgreSQL and Redis.
test: install-dev services
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} $(VENV)/bin/mypy $(MYPY_TARGETS)
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py check

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## bench: long measurements (ingest, risk, pretrade, ..., load: see bench/__main__.py); figures go to
## docs/benchmarks.md, the load test's to docs/reliability.md.
bench: install-dev services
	$(PY) -m bench

## bench-load: only the load test (50 users, 5 minutes; BENCH_LOAD_USERS / BENCH_LOAD_SECONDS for a shorter trial).
bench-load: install-dev services
	$(PY) -m bench load

clean:
	rm -rf var/vigil.sqlite3 var/static
