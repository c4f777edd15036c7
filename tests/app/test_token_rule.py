"""The 401 rule through the whole app (production settings, real loopback sockets, the
simulator): a proxied 401 is the main app's and changes nothing; a bot token the simulator
really refuses is reported by /health, GET /discord and the audit log, and POST /discord
checks again and recovers once the token works."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from gateway.simulator import DiscordSimulator, factory
from tests.support.harness.app import Running, discord_of, running_app
from tests.support.harness.main_app import MainApp
from tests.support.harness.server import serve
from tests.support.waiting import eventually

UNAUTHORIZED = {"message": "401: Unauthorized", "code": 0}
CHANNEL = "555"


async def interaction_goes_through(srv: Running, main: MainApp) -> None:
    """A slash command over the gateway is acknowledged (deferred) and forwarded."""
    before = len(main.requests)
    sent = await srv.sim.send_interaction(factory.command("draft"))
    await srv.sim.wait_for(lambda: len(main.requests) > before, 5)
    record = srv.sim.interaction(sent["id"])
    assert record is not None and record.ack_type == 5
    assert main.requests[-1].headers["x-interaction-id"] == sent["id"]


async def test_a_proxied_401_is_passed_back_and_interactions_keep_working(
    tmp_path: Path,
) -> None:
    main = MainApp()
    async with serve(main) as main_url:
        forward = main_url + "/api/discord/interactions"
        async with running_app(tmp_path, FORWARD_URL=forward) as srv:
            # a bearer-only route: Discord answers a (valid) bot token 401
            answer = await srv.http.get("/discord/api/v10/oauth2/@me")
            assert answer.status_code == 401
            assert answer.json() == UNAUTHORIZED
            assert answer.headers["content-type"] == "application/json"
            assert srv.sim.rest.find("GET", "/users/@me") == []  # nothing to check: not ours
            rest = discord_of(srv.app).rest
            assert rest is not None and not rest.failed
            await interaction_goes_through(srv, main)
            assert (await srv.http.get("/discord")).json() == {"status": "ready"}
            health = await srv.http.get("/health")
            assert health.status_code == 200 and health.json()["status"] == "ok"
            again = await srv.http.post(
                "/discord/api/v10/channels/1/messages", json={"content": "x"}
            )
            assert again.status_code == 200  # the bot token still goes out with proxied calls


async def test_a_refused_token_is_reported_and_post_discord_recovers(tmp_path: Path) -> None:
    main = MainApp()
    async with serve(main) as main_url:
        forward = main_url + "/api/discord/interactions"
        async with running_app(tmp_path, FORWARD_URL=forward, AUDIT_LOG_CHANNEL=CHANNEL) as srv:
            rest, gateway = discord_of(srv.app).rest, discord_of(srv.app).gateway
            assert rest is not None and gateway is not None
            await srv.sim.revoke_token()  # REST 401s, the gateway closed 4004
            await eventually(lambda: rest.failed, 10, "the token marked invalid")
            assert [r.status for r in srv.sim.rest.find("GET", "/users/@me")] == [401]

            health = await srv.http.get("/health")
            assert health.status_code == 503
            body = health.json()
            assert body["status"] == "degraded" and body["discord"]["status"] == "failed"
            reason = body["discord"]["reason"]
            assert reason.startswith("Discord refused the bot token: 401 on GET /users/@me")
            assert (await srv.http.get("/discord")).json() == {"status": "failed", "reason": reason}
            internal = (await srv.http.get("/analytics/internal")).json()
            assert internal["discord"]["status"] == "failed"

            # still refused: POST /discord asks Discord again and restarts nothing
            identifies = len(srv.sim.identifies)
            still = await srv.http.post("/discord")
            assert still.status_code == 502
            assert "still refuses the bot token" in still.json()["detail"]
            assert [r.status for r in srv.sim.rest.find("GET", "/users/@me")] == [401, 401]
            assert len(srv.sim.identifies) == identifies
            assert (await srv.http.get("/discord")).json()["status"] == "failed"

            srv.sim.restore_token()
            restarted = await srv.http.post("/discord")
            assert restarted.status_code == 202 and restarted.json()["action"] == "restart"
            assert not rest.failed
            await asyncio.wait_for(gateway.wait_for("ready"), 10)
            assert (await srv.http.get("/discord")).json() == {"status": "ready"}
            health = await srv.http.get("/health")
            assert health.status_code == 200 and health.json()["status"] == "ok"
            await interaction_goes_through(srv, main)

            # the audit log could not post the refusal with the refused token: it does now
            def refusal_posted() -> list[Any]:
                return [
                    r
                    for r in srv.sim.rest.find("POST", f"/channels/{CHANNEL}/messages")
                    if r.status == 200
                    and r.json["embeds"][0]["title"] == "Discord refused the bot token"
                ]

            posted = await srv.sim.wait_for(refusal_posted, 5)
            assert posted[0].json["embeds"][0]["description"].startswith(reason)


async def test_a_token_refused_at_start_fails_the_gateway_with_the_reason(
    tmp_path: Path,
) -> None:
    async with DiscordSimulator(heartbeat_interval_ms=500) as sim:
        await sim.revoke_token()
        async with running_app(tmp_path, sim=sim, wait_ready=False) as srv:
            gateway = discord_of(srv.app).gateway
            assert gateway is not None
            await asyncio.wait_for(gateway.wait_for("failed"), 10)  # no retry loop
            assert gateway.failure_reason is not None
            assert "Discord refused the bot token" in gateway.failure_reason
            assert [r.status for r in sim.rest.find("GET", "/gateway/bot")] == [401]
            assert sim.identifies == []
            health = await srv.http.get("/health")
            assert health.status_code == 503
            reason = health.json()["discord"]["reason"]
            assert "401 on GET /users/@me after a 401 on GET /gateway/bot" in reason

            sim.restore_token()
            connect = await srv.http.post("/discord")
            assert connect.status_code == 202
            await asyncio.wait_for(gateway.wait_for("ready"), 10)
            assert (await srv.http.get("/discord")).json() == {"status": "ready"}
