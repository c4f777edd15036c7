"""Checklist 17 through the whole app: an identify waiting for the session start limit's
reset shows its reason and time in /health and GET /discord, and reaches the audit log."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway.simulator import DiscordSimulator
from tests.support.harness.app import discord_of, running_app

pytestmark = pytest.mark.timeout(90)
CHANNEL = "555"


async def test_identify_wait_in_health_discord_and_audit_log(tmp_path: Path) -> None:
    sim = DiscordSimulator(
        heartbeat_interval_ms=500,
        identify_interval=0.0,
        session_start_total=2,
        session_start_remaining=2,
        # longer than the three identifies can take (each >= 5 s after the previous one of its
        # bucket, plus the op 9 wait of 1-5 s), so the third one meets the exhausted limit
        session_start_reset_after_ms=25000,
    )
    await sim.start()
    try:
        async with running_app(tmp_path, sim=sim, AUDIT_LOG_CHANNEL=CHANNEL) as srv:
            gateway = discord_of(srv.app).gateway
            assert gateway is not None
            await sim.invalid_session(False)  # the second (last) identify of the day
            await sim.wait_for(lambda: len(sim.identifies) == 2, 10)
            await asyncio.wait_for(gateway.wait_for("ready"), 10)
            await sim.invalid_session(False)  # the next one must wait for the reset
            # after the op 9 wait: 1-5 s at random, doubled for a repeated op 9
            async with asyncio.timeout(15):
                while gateway.identify_wait() is None:
                    await asyncio.sleep(0.01)

            status = (await srv.http.get("/discord")).json()
            assert status["status"] == "connecting"
            wait = status["identify_wait"]
            assert "session start limit" in wait["reason"] and wait["until"] > 0
            health = await srv.http.get("/health")
            assert health.status_code == 503
            assert health.json()["discord"]["identify_wait"] == wait

            async def audited() -> bool:
                posts = sim.rest.find("POST", f"/channels/{CHANNEL}/messages")
                texts = [str(p.json["embeds"][0].get("description")) for p in posts]
                return any(t == wait["reason"] for t in texts)

            async with asyncio.timeout(5):
                while not await audited():
                    await asyncio.sleep(0.02)
            assert len(sim.identifies) == 2 and sim.sent("session_start_limit") == []

            await asyncio.wait_for(gateway.wait_for("ready"), 30)  # after the reset
            assert len(sim.identifies) == 3
            assert "identify_wait" not in (await srv.http.get("/discord")).json()
    finally:
        await sim.stop()
