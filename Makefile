# The two commands: `make run` (serve the demo admin) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
ADDR   ?= 127.0.0.1:8000

.PHONY: run test lint install-dev install-test migrate demo seed bench bench-import bench-api bench-changelist bench-changelist-variants bench-dashboard bench-export bench-revert bench-bulk-job bench-writes bench-load clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	bash .ci/system-deps build
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

$(VENV)/.test-installed: requirements.txt requirements-test.txt | $(BIN)/python
	bash .ci/system-deps build browser
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

install-dev: $(VENV)/.dev-installed
install-test: $(VENV)/.test-installed

migrate: install-dev
	$(MANAGE) migrate --noinput

demo: migrate
	$(MANAGE) setup_roles
	$(MANAGE) setup_demo

## Set up everything, load the demo store once, print the demo login, serve the admin and
## run one background worker beside it (Procfile.dev); Ctrl-C stops both.
run: demo
	ADDR=$(ADDR) PYTHONUNBUFFERED=1 $(BIN)/honcho --procfile Procfile.dev start

## Install what the tests need and run the whole suite (SQLite, or DATABASE_URL).
test: install-test
	$(BIN)/pytest $(PYTEST_ARGS)

## Lint, format check, types, import contracts and template lint (pyproject.toml, docs/development.md):
## all five run, any finding fails.
lint: install-test
	@status=0; \
	$(BIN)/ruff check . || status=1; \
	$(BIN)/ruff format --check . || status=1; \
	$(BIN)/mypy . || status=1; \
	$(BIN)/lint-imports --no-logo || status=1; \
	$(BIN)/djlint --lint templates || status=1; \
	exit $$status

## A synthetic catalog for benchmarks: make seed PRODUCTS=1000000
PRODUCTS ?= 100000
seed: migrate
	$(MANAGE) seed_catalog --products $(PRODUCTS) --customers 1000 --orders 5000 --clear

## Benchmarks (outside the test suite; each prints ratios measured in the same run).
BENCH_MARIADB ?= mysql://root@127.0.0.1:3306
bench: bench-import bench-api bench-changelist

bench-import: install-test
	$(BIN)/python bench/import.py

## locust against gunicorn + MariaDB + Redis, 100k products, 10/25/50 users while a write job runs:
## DURING="import bulk export" for each of them in turn (bench/load.py)
DURING ?= import
bench-load: install-test
	$(BIN)/python bench/load.py --during $(DURING)

bench-revert: install-test
	$(BIN)/python bench/revert.py

bench-api: install-test
	$(BIN)/python bench/api.py

bench-changelist: install-test
	DATABASE_URL=$(BENCH_MARIADB)/bo_catalog_bench $(BIN)/python bench/changelist.py

## 2k products × 5 variants vs 200k × 5 (10k vs 1M sellable units), each in its own database
bench-changelist-variants: install-test
	DATABASE_URL=$(BENCH_MARIADB)/bo_variants1m_bench $(BIN)/python bench/changelist.py \
		--variants 5 --small-database bo_variants10k_bench

bench-export: install-test
	DATABASE_URL=$(BENCH_MARIADB)/bo_queue_bench $(BIN)/python bench/export.py --formats csv

bench-bulk-job: install-test
	DATABASE_URL=$(BENCH_MARIADB)/bo_bulkjobs_bench $(BIN)/python bench/bulk_job.py

## issue 22: each write (price/stock import, new products, "raise price 5%" job, CSV export) against
## MariaDB's own bulk path in the same run; SIZE=1000000 JOBS=bulk RUNS=1 for the 1M bulk edit (bench/writes.py)
SIZE ?= 100000
RUNS ?= 3
JOBS ?= update new bulk export
bench-writes: install-test
	DATABASE_URL=$(BENCH_MARIADB)/bo_writes_bench $(BIN)/python bench/writes.py --size $(SIZE) --runs $(RUNS) --jobs $(JOBS)

bench-dashboard: install-test
	DATABASE_URL=$(BENCH_MARIADB)/bo_ops_bench $(BIN)/python bench/dashboard.py

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache
