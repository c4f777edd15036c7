"""Draft League companion server. `uvicorn asgi_app:app` serves `app`: built at the lifespan
startup from the environment (and `.env`); an invalid environment is listed, every problem by
variable name, and the server exits non-zero before anything is served (asgi_app.lazy).
The factory itself is `asgi_app.factory.create_app(settings)`."""

from __future__ import annotations

from asgi_app.http.types import ASGIApp
from asgi_app.lazy import LazyApp


def _build() -> ASGIApp:
    from asgi_app.factory import build_from_environment

    return build_from_environment()


app = LazyApp(_build)

__all__ = ["app"]
