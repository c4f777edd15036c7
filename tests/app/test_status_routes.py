"""The server's own routes through the whole app: status, health, analytics, metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.support.harness.app import AUTH_TOKEN, ORIGIN, discord_of, running_app


async def test_root_and_livez_are_public(tmp_path: Path) -> None:
    async with running_app(tmp_path) as srv, httpx.AsyncClient(base_url=srv.url) as anon:
        root = await anon.get("/")
        assert root.status_code == 200
        assert root.text == "App is running"
        livez = await anon.get("/livez")
        assert livez.status_code == 200
        assert livez.json() == {"status": "ok"}


async def test_health_ok_when_ready_and_503_while_the_gateway_is_down(tmp_path: Path) -> None:
    async with running_app(tmp_path) as srv, httpx.AsyncClient(base_url=srv.url) as anon:
        ok = await anon.get("/health")
        assert ok.status_code == 200
        body = ok.json()
        assert body["status"] == "ok"
        assert body["discord"]["status"] == "ready"
        assert body["discord"]["shards"] == [{"id": 0, "status": "ready"}]
        assert body["uptime"] >= 0
        assert body["services"]["overlay"]["ok"] is True

        # Discord goes away: the shard reconnects, and health must say so.
        srv.sim.refuse_connections(30)
        await srv.sim.drop_connection()
        gateway = discord_of(srv.app).gateway
        assert gateway is not None
        await asyncio.wait_for(gateway.wait_for("connecting", "resuming"), 5)
        down = await anon.get("/health")
        assert down.status_code == 503
        assert down.json()["status"] == "degraded"
        assert down.json()["discord"]["shards"][0]["status"] != "ready"

        srv.sim.accept_connections()
        await asyncio.wait_for(gateway.wait_for("ready"), 15)
        assert (await anon.get("/health")).status_code == 200


async def test_health_shows_a_fatal_close_with_its_reason(tmp_path: Path) -> None:
    async with running_app(tmp_path) as srv, httpx.AsyncClient(base_url=srv.url) as anon:
        await srv.sim.close(4014, "Disallowed intent(s)")
        gateway = discord_of(srv.app).gateway
        assert gateway is not None
        await asyncio.wait_for(gateway.wait_for("failed"), 5)
        health = await anon.get("/health")
        assert health.status_code == 503
        assert health.json()["discord"]["status"] == "failed"
        detailed = await srv.http.get("/health/detailed")
        shard = detailed.json()["discord"]["shards"][0]
        assert shard["last_close_code"] == 4014
        assert shard["status"] == "failed"
        status = await srv.http.get("/discord")
        assert status.json()["status"] == "failed"
        assert "4014" in status.json()["reason"] or "intent" in status.json()["reason"].lower()


async def test_health_detailed_is_protected_and_reports_each_shard(tmp_path: Path) -> None:
    async with running_app(tmp_path) as srv, httpx.AsyncClient(base_url=srv.url) as anon:
        refused = await anon.get("/health/detailed")
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        gateway = discord_of(srv.app).gateway
        assert gateway is not None
        # Wait for a heartbeat ACK so that latency is known.
        await srv.sim.wait_for(lambda: gateway.snapshot()[0]["last_ack_at"] is not None, 5)
        detailed = await srv.http.get("/health/detailed")
        assert detailed.status_code == 200
        body = detailed.json()
        shard = body["discord"]["shards"][0]
        assert shard["status"] == "ready"
        assert shard["latency_ms"] is not None and shard["latency_ms"] >= 0
        assert shard["reconnects"] == 0
        assert body["memory"]["rss_bytes"] > 0
        assert "python" in body["versions"]
        assert srv.sim.token not in detailed.text
        assert AUTH_TOKEN not in detailed.text


async def test_analytics_public_and_internal(tmp_path: Path) -> None:
    async with running_app(tmp_path) as srv, httpx.AsyncClient(base_url=srv.url) as anon:
        public = await anon.get("/analytics")
        assert public.status_code == 200
        assert public.json()["online"] is True
        assert (await anon.get("/analytics/internal")).status_code == 401
        internal = (await srv.http.get("/analytics/internal")).json()
        assert internal["discord"]["status"] == "ready"
        assert internal["discord"]["shards"] == 1
        assert internal["server"]["requests"] >= 2


async def test_metrics_carry_gateway_http_relay_and_overlay_figures(tmp_path: Path) -> None:
    async with running_app(tmp_path) as srv, httpx.AsyncClient(base_url=srv.url) as anon:
        assert (await anon.get("/metrics")).status_code == 401
        await anon.get("/nope")
        metrics = await srv.http.get("/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = metrics.text
        assert 'gateway_shard_status{shard="0",status="ready"} 1.0' in text
        assert 'http_requests_total{status="404"} 1.0' in text
        assert "interaction_ack_latency_seconds_bucket" in text
        assert "overlay_clients" in text
        assert AUTH_TOKEN not in text


async def test_security_and_cors_headers_on_every_answer_including_errors(
    tmp_path: Path,
) -> None:
    async with running_app(tmp_path) as srv, httpx.AsyncClient(base_url=srv.url) as anon:
        for response in (
            await anon.get("/", headers={"Origin": ORIGIN}),
            await anon.get("/missing", headers={"Origin": ORIGIN}),
            await anon.get("/metrics", headers={"Origin": ORIGIN}),
            await anon.delete("/livez", headers={"Origin": ORIGIN}),
        ):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["x-frame-options"] == "DENY"
            assert response.headers["referrer-policy"] == "no-referrer"
            assert response.headers["access-control-allow-origin"] == ORIGIN
            assert response.headers["x-request-id"]
        preflight = await anon.options(
            "/overlay",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 204
        assert "POST" in preflight.headers["access-control-allow-methods"]
        other = await anon.get("/", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


async def test_protected_routes_refuse_missing_wrong_token_and_wrong_origin(
    tmp_path: Path,
) -> None:
    async with running_app(tmp_path) as srv, httpx.AsyncClient(base_url=srv.url) as anon:
        for path in ("/discord", "/metrics", "/health/detailed", "/analytics/internal"):
            assert (await anon.get(path)).status_code == 401
            wrong = await anon.get(path, headers={"Authorization": "Bearer " + "x" * 36})
            assert wrong.status_code == 401
            bearer = await anon.get(path, headers={"Authorization": f"Bearer {AUTH_TOKEN}"})
            assert bearer.status_code in (200, 503)
            evil = await anon.get(
                path, headers={"Authorization": AUTH_TOKEN, "Origin": "https://evil.example"}
            )
            assert evil.status_code == 403
            assert evil.headers["content-type"] == "application/problem+json"


async def test_protected_routes_are_rate_limited_per_client(tmp_path: Path) -> None:
    async with running_app(tmp_path, RATE_LIMIT_PER_MINUTE="5") as srv:
        statuses = [(await srv.http.get("/discord")).status_code for _ in range(6)]
        assert statuses[:5] == [200] * 5
        limited = await srv.http.get("/discord")
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        # Public routes are not limited.
        assert (await srv.http.get("/livez")).status_code == 200


async def test_development_routes_do_not_exist_in_production(tmp_path: Path) -> None:
    async with running_app(tmp_path) as srv:
        assert (await srv.http.get("/dev")).status_code == 404
        assert (await srv.http.post("/dev/fire", json={"kind": "command"})).status_code == 404
        standin = await srv.http.post("/api/discord/interactions/command", json={})
        assert standin.status_code == 404
