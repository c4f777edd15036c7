# Draft League companion server: `docker build .` then
# `docker run -e BOT_TOKEN=... -e AUTH_TOKEN=... -e ORIGIN_URL=... -p 8000:8000 -v data:/data IMAGE`
# (No `# syntax=` line: BuildKit would fetch a frontend image first, which fails offline.)

# --- the socket.io browser client, pinned by package-lock.json -------------------------------
FROM node:20-bookworm-slim AS node
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# --- build stage: the locked dependencies, then the app itself --------------------------------
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
# The lock files first, alone: this layer is rebuilt only when a lock changes. Every file pip
# downloads must have a sha256 the lock lists (--require-hashes); build.txt is the build
# backend, so that installing the project below (--no-build-isolation) fetches nothing else.
COPY requirements/prod.txt requirements/build.txt ./requirements/
RUN pip install --no-compile --require-hashes -r requirements/prod.txt -r requirements/build.txt
COPY pyproject.toml README.md ./
COPY asgi_app ./asgi_app
COPY gateway ./gateway
# The client script becomes package data, like `make node` does in a checkout.
COPY --from=node /src/node_modules/socket.io-client/dist/socket.io.min.js ./asgi_app/overlay/static/
RUN pip install --no-compile --no-deps --no-build-isolation .

# --- runtime stage: slim, non-root, no compilers, no secrets --------------------------------
FROM python:3.11-slim-bookworm
# XDG_RUNTIME_DIR: gunicorn puts its control socket there (else under HOME, /app, which the
# app user cannot write); /tmp stays writable with a read-only root (`--tmpfs /tmp`).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    APP_ENV=production \
    STATE_DIR=/data \
    PORT=8000 \
    XDG_RUNTIME_DIR=/tmp
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /data /app \
    && chown app:app /data \
    && chmod 0700 /data
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY gunicorn.conf.py ./
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8000') + '/livez', timeout=4)"]
STOPSIGNAL SIGTERM
CMD ["gunicorn", "-c", "gunicorn.conf.py", "asgi_app:app"]
