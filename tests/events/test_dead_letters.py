"""Dead letters over HTTP (GET /events/dead, POST /events/dead/replay, DELETE /events/dead),
/health's `events` and the events' metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.events.support import EventsMainApp, events_app
from tests.support.harness.app import running_app
from tests.support.waiting import eventually

G1, G2 = "1100000000000000001", "1100000000000000011"


async def test_a_4xx_makes_dead_letters_that_are_listed_replayed_and_forgotten(
    tmp_path: Path,
) -> None:
    refuse = {"guild": G1}

    def status_for(events: list[dict[str, Any]]) -> int:
        return 422 if events[0]["guild_id"] == refuse["guild"] else 200

    main = EventsMainApp(status_for=status_for)
    async with events_app(tmp_path, {"MESSAGE_CREATE": {}}, main=main) as (running, _):
        ev = running.sim.guild_events
        for n in range(3):
            await ev.message_create(G1, content=f"a{n}")
        await ev.message_create(G2, content="b")
        http = running.http
        await eventually(lambda: len(main.batches) == 4, 5)
        dead = (await http.get("/events/dead")).json()
        assert dead["count"] == 3
        first = dead["dead"][0]
        assert first["type"] == "MESSAGE_CREATE" and first["guild_id"] == G1
        assert first["attempts"] == 1 and first["last_status"] == 422  # no retry on a 4xx
        assert first["first_attempt"] <= first["last_attempt"]
        assert [b.status for b in main.batches].count(422) == 3
        health = (await http.get("/health")).json()["services"]["events"]
        assert health["dead_letters"] == 3 and health["pending"] == 0 and health["ok"]
        metrics = (await http.get("/metrics")).text
        assert 'events_dead_total{type="MESSAGE_CREATE"} 3.0' in metrics
        assert 'events_delivered_total{type="MESSAGE_CREATE"} 1.0' in metrics
        assert "events_delivery_latency_seconds_bucket" in metrics
        refuse["guild"] = ""
        answer = await http.post("/events/dead/replay", json={"ids": [first["id"]]})
        assert answer.json() == {"replayed": 1}
        await eventually(lambda: first["id"] in main.delivered_ids(), 5)
        assert (await http.post("/events/dead/replay", json={"ids": ["nope"]})).json() == {
            "replayed": 0
        }
        bad = await http.post("/events/dead/replay", json={"ids": "all"})
        assert bad.status_code == 422
        assert (await http.delete("/events/dead")).json() == {"forgotten": 2}
        assert (await http.get("/events/dead")).json() == {"dead": [], "count": 0}
        async with httpx.AsyncClient(base_url=running.url) as anonymous:
            assert (await anonymous.get("/events/dead")).status_code == 401
            assert (await anonymous.delete("/events/dead")).status_code == 401
            assert (await anonymous.post("/events/dead/replay", json={})).status_code == 401


async def test_replay_all_in_their_order(tmp_path: Path) -> None:
    refuse = {"on": True}
    main = EventsMainApp(status_for=lambda events: 400 if refuse["on"] else 200)
    async with events_app(tmp_path, {"MESSAGE_CREATE": {}}, main=main) as (running, _):
        for n in range(5):
            await running.sim.guild_events.message_create(G1, content=f"a{n}")
        await eventually(lambda: len(running.app.services.running.events.dead) == 5, 5)
        refuse["on"] = False
        assert (await running.http.post("/events/dead/replay", json={})).json() == {"replayed": 5}
        await eventually(lambda: len(main.delivered()) == 5, 5)
        assert [e["data"]["content"] for e in main.delivered()] == [f"a{n}" for n in range(5)]


async def test_without_event_forwards_the_dead_letter_routes_answer_an_empty_list(
    tmp_path: Path,
) -> None:
    """No events configured: there can be no dead letter, so the routes answer as for an empty
    list (not 503, which would tell a client to retry something that will never come)."""
    async with running_app(tmp_path, wait_ready=False) as srv:
        idle = srv.app.services.running.events
        assert not idle.enabled and idle.health() == {"ok": True, "enabled": False}
        dead = await srv.http.get("/events/dead")
        assert dead.status_code == 200 and dead.json() == {"dead": [], "count": 0}
        replayed = await srv.http.post("/events/dead/replay", json={})
        assert replayed.status_code == 200 and replayed.json() == {"replayed": 0}
        forgotten = await srv.http.delete("/events/dead")
        assert forgotten.status_code == 200 and forgotten.json() == {"forgotten": 0}
        assert (await srv.http.post("/events/dead/replay", json={"ids": [3]})).status_code == 422
