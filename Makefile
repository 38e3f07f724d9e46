# The two commands: `make run` (serve the demo admin) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
ADDR   ?= 127.0.0.1:8000

.PHONY: run test install-dev install-test migrate demo seed bench clean

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

## Set up everything, load the demo store once, print the demo login and serve the admin.
run: demo
	$(MANAGE) runserver $(ADDR)

## Install what the tests need and run the whole suite (SQLite, or DATABASE_URL).
test: install-test
	$(BIN)/pytest $(PYTEST_ARGS)

## A synthetic catalog for benchmarks: make seed PRODUCTS=1000000
PRODUCTS ?= 100000
seed: migrate
	$(MANAGE) seed_catalog --products $(PRODUCTS) --customers 1000 --orders 5000 --clear

clean:
	rm -rf $(VENV) db.sqlite3 .pytest_cache
