"""gunicorn settings: `gunicorn -c gunicorn.conf.py asgi_app:app`.

Every value can be overridden from the environment (PORT, FORWARDED_ALLOW_IPS,
GRACEFUL_TIMEOUT) so the same file serves Docker and bare hosts.
"""

import os

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"

# ONE worker, always. Each worker process would open its own Discord gateway connection and
# hold its own Socket.IO state: with N workers every interaction would be acknowledged and
# forwarded N times, and overlay clients would only see the updates of their own worker.
# Scale out with shards (SHARD_IDS per process) and REDIS_URL instead, never with workers.
workers = 1
worker_class = "asgi_app.worker.LifespanWorker"

# On SIGTERM the lifespan shutdown closes the gateway resumably and saves the session; the
# graceful timeout must leave room for that before gunicorn's own kill.
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "30"))
timeout = 60
keepalive = 5

# Client addresses come from X-Forwarded-For only when the peer is one of these proxies.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# The app writes one JSON line per request itself, with its request id; gunicorn's access
# log stays off so that nothing is logged twice.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
