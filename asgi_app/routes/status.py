"""GET /, /livez, /health, /health/detailed, /analytics, /analytics/internal."""

from __future__ import annotations

import os
import platform
import resource
import sys
from collections.abc import Awaitable, Callable
from importlib import metadata
from typing import Any

from asgi_app.http import App, HttpStats, Request, Response, RouteRegistrar
from asgi_app.services import Services

_VERSIONS = ("draft-league-companion", "uvicorn", "websockets", "python-socketio", "httpx")


def _versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in _VERSIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - not installed as a package
            found[name] = "unknown"
    return found


def _memory() -> dict[str, int]:
    """Resident set size now (Linux /proc) and at its peak, in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    rss = peak
    try:
        with open(f"/proc/{os.getpid()}/statm", encoding="ascii") as statm:
            rss = int(statm.read().split()[1]) * resource.getpagesize()
    except OSError:  # pragma: no cover - not Linux
        pass
    return {"rss_bytes": rss, "peak_rss_bytes": peak}


def _public(discord: dict[str, Any]) -> dict[str, Any]:
    """The gateway summary for the public /health: each shard's id and status only."""
    shards = [{"id": s["shard_id"], "status": s["status"]} for s in discord["shards"]]
    return {k: v for k, v in discord.items() if k != "shards"} | {"shards": shards}


HealthProbe = Callable[[], Awaitable[dict[str, Any]]]


def register(
    app: App,
    guarded: RouteRegistrar,
    services: Services,
    http_stats: HttpStats,
    extra_health: dict[str, HealthProbe],
) -> None:
    """The status routes: public ones on `app`, protected ones on `guarded`."""
    """`extra_health`: name -> async probe returning that service's health dict; a dict with
    `"ok": False` makes /health degraded (503 only for the gateway, which is this server's
    reason to exist)."""

    async def root(req: Request, res: Response) -> None:
        res.text("App is running")

    async def livez(req: Request, res: Response) -> None:
        res.json({"status": "ok"})

    async def health_body(*, detailed: bool = False) -> tuple[int, dict[str, Any]]:
        discord = services.discord_summary()
        others = {name: await probe() for name, probe in extra_health.items()}
        gateway_down = discord["configured"] and discord["status"] != "ready"
        service_down = any(not s.get("ok", True) for s in others.values())
        body = {
            "status": "degraded" if gateway_down or service_down else "ok",
            "uptime": round(services.uptime, 3),
            "discord": discord if detailed else _public(discord),
            "services": others,
        }
        return (503 if gateway_down else 200), body

    async def health(req: Request, res: Response) -> None:
        status, body = await health_body()
        res.status(status).json(body)

    async def health_detailed(req: Request, res: Response) -> None:
        status, body = await health_body(detailed=True)
        discord = services.running.discord
        if discord is not None:
            body["discord"]["rest"] = discord.rest.stats.snapshot()
            body["discord"]["relay"] = discord.relay.stats.snapshot()
            if discord.leases is not None:  # SHARD_IDS=auto: live nodes, holders, lease ages
                body["discord"]["leases"] = discord.leases.snapshot()
        body["memory"] = _memory()
        body["versions"] = _versions()
        res.status(status).json(body)

    async def analytics(req: Request, res: Response) -> None:
        res.json({"online": True, "uptime": round(services.uptime, 3)})

    async def analytics_internal(req: Request, res: Response) -> None:
        summary = services.discord_summary()
        discord = services.running.discord
        shards = summary["shards"]
        latencies = [s["latency_ms"] for s in shards if s.get("latency_ms") is not None]
        res.json(
            {
                "server": {
                    "uptime": round(services.uptime, 3),
                    "started_at": services.started_at,
                    "pid": os.getpid(),
                    "python": sys.version.split()[0],
                    "memory": _memory(),
                    "requests": http_stats.total,
                },
                "discord": {
                    "status": summary["status"],  # "failed" too for a refused bot token
                    "shards": len(shards),
                    "latency_ms": round(sum(latencies) / len(latencies), 3) if latencies else None,
                    "reconnects": sum(s["reconnects"] for s in shards),
                    "interactions": (
                        discord.relay.stats.snapshot() if discord is not None else None
                    ),
                },
            }
        )

    app.get("/", root, summary="Liveness text, as the Node server answered", tags=["status"])
    app.get("/livez", livez, summary="200 while the process serves", tags=["status"])
    app.get("/health", health, summary="Gateway and services health", tags=["status"])
    guarded.get(
        "/health/detailed",
        health_detailed,
        summary="Per-shard gateway state, memory, versions",
        tags=["status"],
    )
    app.get("/analytics", analytics, summary="Online status and uptime", tags=["status"])
    guarded.get(
        "/analytics/internal",
        analytics_internal,
        summary="Server and Discord figures",
        tags=["status"],
    )
