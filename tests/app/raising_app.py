"""The app exactly as `asgi_app:app` builds it (settings and logging from the environment),
plus one route that raises: served by tests/app/test_faults.py in a uvicorn subprocess."""

from __future__ import annotations

from asgi_app.factory import build_from_environment
from asgi_app.http import Request, Response

app = build_from_environment()


class StoreUnreachableError(Exception):
    pass


async def boom(req: Request, res: Response) -> None:
    raise StoreUnreachableError("connection refused to 10.0.0.9:6379")


app.get("/boom", boom)
