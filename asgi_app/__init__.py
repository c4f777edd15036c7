"""Draft League companion server. `uvicorn asgi_app:app` serves `app`, built on first access
from the environment (and `.env`): an invalid environment exits non-zero, listing every
problem by variable name, before anything is served."""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["app"]

_app: Any = None


def build_from_environment() -> Any:
    from asgi_app.settings import load_settings_or_exit

    # Settings first: a bad environment exits before anything else is even imported.
    settings = load_settings_or_exit(os.environ)

    from asgi_app.app import create_app
    from asgi_app.logs import configure_logging

    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    if settings.dev_defaults:
        # Printed once, on purpose and outside the (scrubbed) logs: a developer needs the
        # generated AUTH_TOKEN to call protected routes. Only development mode generates any.
        values = {"AUTH_TOKEN": settings.auth_token.get(), "ORIGIN_URL": settings.origin_url}
        for name in settings.dev_defaults:
            print(f"development default {name}={values.get(name, '')}", file=sys.stderr)
    return create_app(settings)


def __getattr__(name: str) -> Any:
    global _app
    if name == "app":
        if _app is None:
            _app = build_from_environment()
            # Importing the submodule asgi_app.app (the factory) made `app` an attribute of
            # this package; the built app must win, or a second lookup (uvicorn looks twice)
            # would find the factory module instead.
            globals()["app"] = _app
        return _app
    raise AttributeError(f"module 'asgi_app' has no attribute {name!r}")
