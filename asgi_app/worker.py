"""The gunicorn worker: uvicorn's, with the lifespan protocol required rather than guessed.

The lifespan hook starts the gateway and saves its session on shutdown; with "auto" a startup
failure would be swallowed and the server would run without a gateway.
"""

from __future__ import annotations

from typing import Any

from uvicorn_worker import UvicornWorker

#: Seconds uvicorn waits for open connections at shutdown before it runs the lifespan
#: shutdown (which closes the gateway resumably and saves its session). Socket.IO long-polls
#: can stay open for 85 s; without this bound gunicorn's graceful timeout (30 s) would kill
#: the worker before the session is saved.
GRACEFUL_CONNECTIONS_SECONDS = 10


class LifespanWorker(UvicornWorker):  # type: ignore[misc]
    CONFIG_KWARGS: dict[str, Any] = {
        "loop": "auto",
        "http": "auto",
        "lifespan": "on",
        "timeout_graceful_shutdown": GRACEFUL_CONNECTIONS_SECONDS,
    }
