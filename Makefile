# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The lock files: exact versions of every dependency and the sha256 of each of their files,
# compiled from pyproject.toml by `make lock`. `make`, .ci/run (through `make test`) and the
# Dockerfile install from them with --require-hashes: a file that differs from the one locked
# is refused. LOCK_BUILD is the build backend (pyproject's [build-system]), so that installing
# the project itself (--no-build-isolation) fetches nothing unlocked either.
LOCK_DEV := requirements/dev.txt
LOCK_PROD := requirements/prod.txt
LOCK_BUILD := requirements/build.txt
# The socket.io browser client, from node_modules (package-lock.json pins it), copied into the
# package as package data so that an editable install, a wheel and the image all serve it.
CLIENT_JS := asgi_app/overlay/static/socket.io.min.js
NODE_CLIENT_JS := node_modules/socket.io-client/dist/socket.io.min.js

.PHONY: run test lint typecheck unit install clean node lock

$(STAMP): pyproject.toml $(LOCK_DEV) $(LOCK_BUILD)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK_DEV) -r $(LOCK_BUILD)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

install: $(STAMP)

# Development mode: embedded Discord simulator + stand-in main app, no settings needed.
# Without npm it serves all the same; only the OBS page lacks its socket.io client (it says how
# to get it; `python -m asgi_app.devtools fire` finds this server on the same PORT).
run: $(STAMP)
	@if command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory node; \
	elif [ ! -f $(CLIENT_JS) ] && [ ! -f $(NODE_CLIENT_JS) ]; then \
		echo "make run: npm not found, so the OBS overlay page (/overlay/view/...) has no socket.io client;"; \
		echo "          everything else serves. To get it: install Node.js with npm (Debian: apt-get install npm),"; \
		echo "          then run 'make node' (or copy socket.io.min.js of socket.io-client 4 to $(CLIENT_JS))."; \
	fi
	APP_ENV=$${APP_ENV:-development} $(BIN)/uvicorn asgi_app:app --host 127.0.0.1 --port $${PORT:-8000} --timeout-graceful-shutdown 10

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch node_modules/.installed

$(CLIENT_JS): node_modules/.installed
	cp $(NODE_CLIENT_JS) $(CLIENT_JS)

node: node_modules/.installed $(CLIENT_JS)

# Recompile the lock files after a change to pyproject.toml's dependencies (needs the index).
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra prod --universal --python-version 3.11 --generate-hashes -q -o $(LOCK_PROD)
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes -q -o $(LOCK_DEV)
	$(BIN)/python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['build-system']['requires']))" \
		| $(BIN)/uv pip compile - --universal --python-version 3.11 --generate-hashes -q -o $(LOCK_BUILD)

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
