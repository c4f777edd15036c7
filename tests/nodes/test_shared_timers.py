"""League timers with two nodes on one Redis (gateway/timers/sync.py): a timer created on
either node is seen by both and fires once, on the node holding the timers' role; when that
node stops, the other takes the role and fires what comes next."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import orjson
import pytest

from gateway.simulator import DiscordSimulator
from gateway.timers.engine import TimerEngine
from tests.support.harness.app import Running, running_app
from tests.support.harness.main_app import MainApp
from tests.support.harness.redis_server import redis_server
from tests.support.harness.server import serve
from tests.support.tools import require_tool
from tests.support.waiting import eventually


def _fires(main: MainApp) -> Counter[str]:
    found: Counter[str] = Counter()
    for request in main.requests:
        body = orjson.loads(request.body)
        if body.get("kind") == "fire":
            found[body["id"]] += 1
    return found


@pytest.fixture
async def two(tmp_path: Path) -> AsyncIterator[tuple[MainApp, list[Running]]]:
    main = MainApp()
    async with AsyncExitStack() as stack:
        redis_url = await stack.enter_async_context(redis_server(require_tool("redis-server")))
        url = await stack.enter_async_context(serve(main))
        sim = await stack.enter_async_context(DiscordSimulator(heartbeat_interval_ms=500))
        nodes = [
            await stack.enter_async_context(
                running_app(
                    tmp_path / name,
                    sim=sim,
                    REDIS_URL=redis_url,
                    TIMERS_URL=url + "/timers",
                    SHARD_LEASE_SECONDS="1.5",
                )
            )
            for name in ("a", "b")
        ]
        yield main, nodes


def _runner(nodes: list[Running]) -> Running | None:
    for node in nodes:
        timers = node.app.services.running.timers
        if timers is not None and timers.active is not None and timers.active():
            return node
    return None


async def test_a_timer_made_on_either_node_fires_once_on_the_runner(
    two: tuple[MainApp, list[Running]],
) -> None:
    main, nodes = two
    runner = await eventually(lambda: _runner(nodes), 5, "one node runs the timers")
    other = next(n for n in nodes if n is not runner)
    for n, node in enumerate([other, runner, other, runner]):
        body = {"id": f"t{n}", "duration_ms": 300 + 100 * n, "payload": {"n": n}}
        assert (await node.http.post("/timers", json=body)).status_code == 201
    # both see all four, whoever took the POST
    for node in nodes:
        assert node.app.services.running.timers is not None
        engine = node.app.services.running.timers.engine

        def seen(engine: TimerEngine = engine) -> bool:
            return len(engine.timers()) == 4

        await eventually(seen, 2, "seen by both")
        assert len((await node.http.get("/timers")).json()["timers"]) == 4
    await eventually(lambda: len(_fires(main)) == 4, 5, "four fires")
    await asyncio.sleep(0.5)
    assert _fires(main) == Counter({f"t{n}": 1 for n in range(4)})
    # the state of a fire reached the other node too
    there = (await other.http.get("/timers/t0")).json()
    assert there["state"] == "fired"


async def test_when_the_runner_stops_the_other_node_fires(
    two: tuple[MainApp, list[Running]],
) -> None:
    main, nodes = two
    runner = await eventually(lambda: _runner(nodes), 5, "one node runs the timers")
    other = next(n for n in nodes if n is not runner)
    body = {"id": "later", "duration_ms": 2500}
    assert (await runner.http.post("/timers", json=body)).status_code == 201
    services = runner.app.services
    assert services.running.timer_role is not None
    await services.running.timer_role.stop()  # the runner gives the role up (as at its SIGTERM)
    await eventually(lambda: _runner(nodes) is other, 10, "the other node runs the timers")
    await eventually(lambda: _fires(main)["later"] == 1, 5, "the fire, from the other node")
    await asyncio.sleep(0.5)
    assert _fires(main) == Counter({"later": 1})
