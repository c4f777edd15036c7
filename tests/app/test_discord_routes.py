"""GET/POST/DELETE /discord and POST /discord/presence through the whole app."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.harness.app import discord_of, running_app


async def test_status_disconnect_and_connect(tmp_path: Path) -> None:
    async with running_app(tmp_path) as srv:
        gateway = discord_of(srv.app).gateway
        assert gateway is not None
        assert (await srv.http.get("/discord")).json() == {"status": "ready"}

        closed = await srv.http.delete("/discord")
        assert closed.status_code == 200
        assert (await srv.http.get("/discord")).json() == {"status": "idle"}
        # A deliberate disconnect closes with 1000: the session is over.
        await srv.sim.wait_for(lambda: srv.sim.connections[-1].close_code == 1000, 5)

        again = await srv.http.delete("/discord")
        assert again.status_code == 400
        assert again.headers["content-type"] == "application/problem+json"

        identifies = len(srv.sim.identifies)
        connect = await srv.http.post("/discord")
        assert connect.status_code == 202
        assert connect.json()["action"] == "connect"
        await asyncio.wait_for(gateway.wait_for("ready"), 10)
        assert len(srv.sim.identifies) == identifies + 1


async def test_post_while_connected_restarts_and_resumes(tmp_path: Path) -> None:
    async with running_app(tmp_path) as srv:
        gateway = discord_of(srv.app).gateway
        assert gateway is not None
        resumes = len(srv.sim.resumes)
        restart = await srv.http.post("/discord")
        assert restart.status_code == 202
        assert restart.json()["action"] == "restart"
        await asyncio.wait_for(gateway.wait_for("ready"), 10)
        await srv.sim.wait_for(lambda: len(srv.sim.resumes) == resumes + 1, 5)


async def test_presence_is_validated_and_sent_as_op_3(tmp_path: Path) -> None:
    async with running_app(tmp_path) as srv:
        bad = await srv.http.post(
            "/discord/presence", json={"status": "busy", "type": 9, "name": ""}
        )
        assert bad.status_code == 422
        problem = bad.json()
        paths = sorted(tuple(error["path"]) for error in problem["errors"])
        assert paths == [("name",), ("status",), ("type",)]
        assert "busy" not in bad.text

        ok = await srv.http.post(
            "/discord/presence", json={"status": "dnd", "type": 3, "name": "the draft"}
        )
        assert ok.status_code == 200
        assert ok.json() == {"ok": True, "shards": 1}
        await srv.sim.wait_for(lambda: len(srv.sim.presences) == 1, 5)
        sent = srv.sim.presences[0].payload["d"]
        assert sent["status"] == "dnd"
        assert sent["activities"] == [{"name": "the draft", "type": 3}]


async def test_presence_when_no_shard_is_ready_is_409(tmp_path: Path) -> None:
    async with running_app(tmp_path) as srv:
        await srv.http.delete("/discord")
        refused = await srv.http.post(
            "/discord/presence", json={"status": "online", "type": 0, "name": "x"}
        )
        assert refused.status_code == 409
