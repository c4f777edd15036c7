"""gunicorn settings: `gunicorn -c gunicorn.conf.py asgi_app:app`.

Every value can be overridden from the environment (PORT, FORWARDED_ALLOW_IPS,
GRACEFUL_TIMEOUT) so the same file serves Docker and bare hosts.
"""

import os

from asgi_app.settings import load_server_settings_or_exit

# PORT, GRACEFUL_TIMEOUT, FORWARDED_ALLOW_IPS and LOG_LEVEL, validated by the app's schema.
server = load_server_settings_or_exit(os.environ)

bind = f"{os.environ.get('HOST', '0.0.0.0')}:{server.port}"

# ONE worker, always. Each worker process would open its own Discord gateway connection and
# hold its own Socket.IO state: with N workers every interaction would be acknowledged and
# forwarded N times, and overlay clients would only see the updates of their own worker.
# Scale out with shards (SHARD_IDS per process) and REDIS_URL instead, never with workers.
workers = 1
worker_class = "asgi_app.worker.LifespanWorker"

# On SIGTERM the lifespan shutdown closes the gateway resumably and saves the session; the
# graceful timeout must leave room for that before gunicorn's own kill.
graceful_timeout = server.graceful_timeout
timeout = 60
keepalive = 5

# Client addresses come from X-Forwarded-For only when the peer is one of these proxies.
forwarded_allow_ips = ",".join(server.forwarded_allow_ips)

# The app writes one JSON line per request itself, with its request id; gunicorn's access
# log stays off so that nothing is logged twice.
accesslog = None
errorlog = "-"
loglevel = server.log_level.lower()
