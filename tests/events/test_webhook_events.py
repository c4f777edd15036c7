"""POST /webhook-events: Discord's Webhook Events, verified like POST /interactions, answered
204, delivered with source "webhook", Discord's retries taken once."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from pathlib import Path

import httpx

from gateway.simulator import DiscordSimulator
from tests.events.support import ALL_INTENTS, EventsMainApp, events_app
from tests.support.harness.redis_server import redis_server
from tests.support.tools import require_tool
from tests.support.waiting import eventually


async def test_ping_a_signed_event_a_bad_signature_and_a_retry(tmp_path: Path) -> None:
    sim = DiscordSimulator(heartbeat_interval_ms=500, allowed_privileged_intents=ALL_INTENTS)
    async with (
        sim,
        events_app(tmp_path, {}, sim=sim, DISCORD_PUBLIC_KEY=sim.webhook_public_key) as (
            running,
            main,
        ),
    ):
        discord = running.sim.webhook_events(running.url + "/webhook-events")
        assert (await discord.ping()).status == 204
        sent = await discord.application_authorized(guild_id="1100000000000000001")
        assert sent.status == 204
        bad = await discord.post(sent.body, signature=secrets.token_hex(64))
        assert bad.status == 401
        stale = await discord.post(sent.body, timestamp="1000000000")
        assert stale.status == 401
        again = await discord.resend(sent)  # Discord's retry: the same event
        assert again.status == 204
        await eventually(lambda: main.delivered(), 5)
        other = await discord.send("ENTITLEMENT_CREATE", {"id": "77", "sku_id": "8"})
        assert other.status == 204
        await eventually(lambda: len(main.delivered()) == 2, 5)
        first, second = main.delivered()
        assert first["type"] == "APPLICATION_AUTHORIZED" and first["source"] == "webhook"
        assert first["guild_id"] == "1100000000000000001" and first["shard"] is None
        assert first["data"]["scopes"] == ["applications.commands", "bot"]
        assert first["id"].startswith("w:") and first["id"] != second["id"]
        assert second["type"] == "ENTITLEMENT_CREATE" and second["guild_id"] is None
        problem = await running.http.post(
            "/webhook-events",
            content=b"{}",
            headers={"X-Signature-Ed25519": "00", "X-Signature-Timestamp": "1"},
        )
        assert problem.status_code == 401
        assert problem.headers["content-type"].startswith("application/problem+json")


async def test_not_there_without_discord_public_key(tmp_path: Path) -> None:
    async with events_app(tmp_path, {"MESSAGE_CREATE": {}}) as (running, _):
        async with httpx.AsyncClient(base_url=running.url) as client:
            answer = await client.post("/webhook-events", content=b'{"type": 0}')
        assert answer.status_code == 404


async def test_discords_retry_to_another_node_is_delivered_once(tmp_path: Path) -> None:
    """Two servers on one Redis behind a load balancer: Discord's retry of an event reaches
    the other node, which recognises it (the store both share)."""
    async with contextlib.AsyncExitStack() as stack:
        url = await stack.enter_async_context(redis_server(require_tool("redis-server")))
        main = EventsMainApp()
        nodes = []
        for name in ("a", "b"):
            sim = DiscordSimulator(
                heartbeat_interval_ms=500, allowed_privileged_intents=ALL_INTENTS
            )
            await stack.enter_async_context(sim)
            running, _ = await stack.enter_async_context(
                events_app(
                    tmp_path / name,
                    {},
                    main=main,
                    sim=sim,
                    DISCORD_PUBLIC_KEY=sim.webhook_public_key,
                    REDIS_URL=url,
                )
            )
            nodes.append(running.sim.webhook_events(running.url + "/webhook-events"))
        a, b = nodes
        sent = await a.send("ENTITLEMENT_CREATE", {"id": "78", "sku_id": "8"})
        assert sent.status == 204  # journaled before the 204
        again = await b.post(sent.body)  # the same event, signed for node b
        assert again.status == 204
        await eventually(lambda: len(main.delivered()) == 1, 5)
        not_an_event = await b.post(b'{"type": 1, "event": {"data": {}}}')
        assert not_an_event.status == 400
        await asyncio.sleep(0.3)
        assert len(main.delivered()) == 1
