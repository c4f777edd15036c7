"""GET /metrics (protected): Prometheus text format."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry

from asgi_app.http import Request, Response, RouteRegistrar
from asgi_app.metrics import CONTENT_TYPE, render


def register(
    guarded: RouteRegistrar,
    registry: CollectorRegistry,
    before: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """`before`: awaited ahead of each scrape (asgi_app.metrics.ScrapeProbes.refresh)."""

    async def metrics(req: Request, res: Response) -> None:
        if before is not None:
            await before()
        res.send(render(registry), CONTENT_TYPE)

    guarded.get("/metrics", metrics, summary="Prometheus metrics", tags=["status"])
