"""The gunicorn worker: uvicorn's, with the lifespan protocol required rather than guessed.

The lifespan hook starts the gateway and saves its session on shutdown; with "auto" a startup
failure would be swallowed and the server would run without a gateway.
"""

from __future__ import annotations

from typing import Any

from uvicorn_worker import UvicornWorker


class LifespanWorker(UvicornWorker):  # type: ignore[misc]
    CONFIG_KWARGS: dict[str, Any] = {"loop": "auto", "http": "auto", "lifespan": "on"}
