# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The lock files: exact versions of every dependency, compiled from pyproject.toml by `make lock`.
# `make`, .ci/run (through `make test`) and the Dockerfile install from them.
LOCK_DEV := requirements/dev.txt
LOCK_PROD := requirements/prod.txt
# The socket.io browser client, from node_modules (package-lock.json pins it), copied into the
# package as package data so that an editable install, a wheel and the image all serve it.
CLIENT_JS := asgi_app/overlay/static/socket.io.min.js

.PHONY: run test lint typecheck unit install clean node lock

$(STAMP): pyproject.toml $(LOCK_DEV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r $(LOCK_DEV)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Development mode: embedded Discord simulator + stand-in main app, no settings needed.
run: $(STAMP) node
	APP_ENV=$${APP_ENV:-development} $(BIN)/uvicorn asgi_app:app --host 127.0.0.1 --port $${PORT:-8000} --timeout-graceful-shutdown 10

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch node_modules/.installed

$(CLIENT_JS): node_modules/.installed
	cp node_modules/socket.io-client/dist/socket.io.min.js $(CLIENT_JS)

node: node_modules/.installed $(CLIENT_JS)

# Recompile the lock files after a change to pyproject.toml's dependencies (needs the index).
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra prod --universal --python-version 3.11 -q -o $(LOCK_PROD)
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 -q -o $(LOCK_DEV)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) node
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck unit

clean:
	rm -rf $(VENV) node_modules $(CLIENT_JS) .mypy_cache .ruff_cache .pytest_cache
