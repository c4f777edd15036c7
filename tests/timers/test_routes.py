"""The timer routes on the app as production assembles it (create_app, uvicorn, a simulator):
201/200/409/404/422, pause/resume/extend/cancel, ?prefix=, a fire delivered signed to
TIMERS_URL, /health and /metrics."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from gateway.delivery.signatures import load_public_key, verify_ed25519, verify_signature
from tests.support.harness.app import AUTH_TOKEN, running_app
from tests.support.harness.main_app import MainApp
from tests.support.harness.server import serve
from tests.support.waiting import eventually


def problem_paths(answer: httpx.Response) -> list[tuple[Any, ...]]:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    return sorted(tuple(e["path"]) for e in answer.json()["errors"])


async def test_create_read_change_and_cancel(tmp_path: Path) -> None:
    async with running_app(tmp_path) as srv:
        http = srv.http
        body = {"id": "league1:pick:7", "duration_ms": 600_000, "reminders_ms": [60_000]}
        created = await http.post("/timers", json=body | {"payload": {"pick": 7}})
        assert created.status_code == 201, created.text
        timer = created.json()
        assert timer["state"] == "running" and timer["payload"] == {"pick": 7}
        assert timer["due_at"] - int(time.time() * 1000) in range(598_000, 600_001)
        assert timer["reminders_at"] == [timer["due_at"] - 60_000]
        assert set(timer) == {
            "id", "state", "due_at", "remaining_ms", "reminders_at", "payload", "overlay"
        }  # fmt: skip

        again = await http.post("/timers", json={"payload": {"pick": 7}} | body)  # keys moved
        assert again.status_code == 200 and again.json()["due_at"] == timer["due_at"]
        other = await http.post("/timers", json=body | {"payload": {"pick": 8}})
        assert other.status_code == 409
        assert other.headers["content-type"] == "application/problem+json"

        await http.post("/timers", json={"id": "league2:pick:1", "fire_at": 4_102_444_800_000})
        listed = (await http.get("/timers", params={"prefix": "league1:"})).json()["timers"]
        assert [t["id"] for t in listed] == ["league1:pick:7"]
        assert len((await http.get("/timers")).json()["timers"]) == 2

        paused = (await http.post("/timers/league1:pick:7/pause")).json()
        assert paused["state"] == "paused" and paused["due_at"] is None
        left = paused["remaining_ms"]
        assert (await http.get("/timers/league1:pick:7")).json()["remaining_ms"] == left
        extended = await http.post("/timers/league1:pick:7/extend", json={"ms": 30_000})
        assert extended.json()["remaining_ms"] == left + 30_000
        resumed = (await http.post("/timers/league1:pick:7/resume")).json()
        assert resumed["state"] == "running"
        assert resumed["due_at"] - int(time.time() * 1000) <= left + 30_000

        cancelled = await http.delete("/timers/league1:pick:7")
        assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
        assert (await http.post("/timers/league1:pick:7/resume")).status_code == 409
        assert (await http.get("/timers/nope")).status_code == 404
        assert (await http.post("/timers/nope/pause")).status_code == 404
        assert (await http.get("/timers/bad%20id")).status_code == 404

        health = (await httpx.AsyncClient(base_url=srv.url).get("/health")).json()
        assert health["services"]["timers"]["pending"] == 1
        assert health["services"]["timers"]["ok"] is True
        metrics = (await http.get("/metrics")).text
        assert 'timers_pending{state="running"} 1.0' in metrics
        # Written before the 201 went out.
        assert (tmp_path / "timers.sqlite3").stat().st_mode & 0o777 == 0o600


async def test_every_problem_at_its_path(tmp_path: Path) -> None:
    async with running_app(tmp_path) as srv:
        http = srv.http
        bad = {
            "id": "has space",
            "duration_ms": 0,
            "reminders_ms": [5, -1],
            "overlay": "no/slash",
            "quiet": {"start": "25:00", "end": "08:00", "tz": "Mars/Base"},
            "extra": 1,
        }
        paths = problem_paths(await http.post("/timers", json=bad))
        assert paths == [
            ("duration_ms",),
            ("extra",),
            ("id",),
            ("overlay",),
            ("quiet", "start"),
            ("quiet", "tz"),
            ("reminders_ms", 1),
        ]
        both = {
            "id": "x",
            "fire_at": 1,
            "duration_ms": 5,
            "quiet": {"start": "23:00", "end": "23:00", "tz": "UTC"},
        }
        assert problem_paths(await http.post("/timers", json=both)) == [
            ("duration_ms",),
            ("quiet",),
            ("quiet", "end"),
        ]
        assert problem_paths(await http.post("/timers", json={"id": "x"})) == [("duration_ms",)]
        big = {"id": "x", "duration_ms": 5, "payload": "x" * 20_000}
        assert problem_paths(await http.post("/timers", json=big)) == [("payload",)]
        await http.post("/timers", json={"id": "x", "duration_ms": 60_000})
        assert problem_paths(await http.post("/timers/x/extend", json={"ms": "1"})) == [("ms",)]
        no_token = await httpx.AsyncClient(base_url=srv.url).get("/timers")
        assert no_token.status_code == 401


async def test_a_fire_reaches_timers_url_signed(tmp_path: Path) -> None:
    main = MainApp()
    async with serve(main) as main_url:
        async with running_app(tmp_path, TIMERS_URL=f"{main_url}/api/discord/timers") as srv:
            body = {"id": "t1", "duration_ms": 300, "payload": {"round": 1}}
            due_at = (await srv.http.post("/timers", json=body)).json()["due_at"]
            await eventually(lambda: main.finished == 1, 5, "the fire")
            [request] = main.requests
            assert request.path == "/api/discord/timers"
            sent = orjson.loads(request.body)
            assert sent["id"] == "t1" and sent["kind"] == "fire" and sent["due_at"] == due_at
            assert sent["payload"] == {"round": 1} and sent["late"] is False
            assert due_at <= sent["sent_at"] < due_at + 1000  # never early, within 1 s
            headers = request.headers
            assert headers["x-timer-id"] == "t1" and headers["x-delivery-attempt"] == "1"
            assert "authorization" not in headers
            stamp = headers["x-signature-timestamp"]
            assert verify_signature(AUTH_TOKEN, stamp, request.body, headers["x-signature-sha256"])
            key = (await srv.http.get("/interactions/public-key")).json()["public_key"]
            assert verify_ed25519(
                load_public_key(key), stamp, request.body, headers["x-signature-ed25519"]
            )
            fired = (await srv.http.get("/timers/t1")).json()
            assert fired["state"] == "fired" and fired["remaining_ms"] == 0
            metrics = (await srv.http.get("/metrics")).text
            assert 'timer_deliveries_total{outcome="delivered"} 1.0' in metrics
