"""An app whose start-up hook fails: uvicorn must refuse to serve and exit non-zero."""

from __future__ import annotations

from asgi_app.http import App

app = App()


@app.on_startup
async def _fail() -> None:
    raise RuntimeError("settings are missing: AUTH_TOKEN")
