"""GET /metrics (protected): Prometheus text format."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from asgi_app.http import Request, Response, RouteRegistrar
from asgi_app.metrics import CONTENT_TYPE, render


def register(guarded: RouteRegistrar, registry: CollectorRegistry) -> None:
    async def metrics(req: Request, res: Response) -> None:
        res.send(render(registry), CONTENT_TYPE)

    guarded.get("/metrics", metrics, summary="Prometheus metrics", tags=["status"])
