"""The simulator process's commands for several nodes (sim_process.py): a stream of
interactions spread over the shards, what became of them, a stream of MESSAGE_CREATE events
over guilds of every shard and the event batches the main app received, and the gateway's
record of who connected, resumed and took over which shard."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from gateway.simulator import DiscordSimulator, NoSessionError, factory
from gateway.simulator.interaction_log import ACK_WINDOW
from tests.support.harness.main_app import MainApp

#: Where the nodes POST event batches (EVENTS_URL = the main app's base + this).
EVENTS_PATH = "/events"

_LOGGED = frozenset({"IDENTIFY", "RESUME", "READY", "RESUMED", "close", "drop"})


class Paced:
    """`send(n)` for n = 0, 1, 2, ... at `rate` per second, until `stop()`: each answer a row
    of `sent`; a send refused for want of a session (NoSessionError) is counted, not kept."""

    def __init__(self, rate: float, send: Callable[[int], Awaitable[list[Any]]]) -> None:
        self.sent: list[list[Any]] = []
        self.refused = 0
        self._task = asyncio.get_running_loop().create_task(self._run(rate, send))

    async def _run(self, rate: float, send: Callable[[int], Awaitable[list[Any]]]) -> None:
        loop = asyncio.get_running_loop()
        start, n = loop.time(), 0
        while True:
            try:
                self.sent.append(await send(n))
            except NoSessionError:
                self.refused += 1
            n += 1
            await asyncio.sleep(max(0.0, start + n / rate - loop.time()))

    async def stop(self) -> list[list[Any]]:
        """The rows sent, once the sending has stopped."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        return self.sent


class Stream:
    """Commands at `rate` per second, round robin over `shards`, until `stop()`."""

    def __init__(self, sim: DiscordSimulator, rate: float, shards: int) -> None:
        self.sim = sim
        self.shards = shards
        self._paced = Paced(rate, self._send)

    async def _send(self, n: int) -> list[Any]:
        shard = n % self.shards
        payload = await self.sim.send_interaction(factory.command("draft"), shard)
        return [str(payload["id"]), shard]

    async def stop(self) -> dict[str, Any]:
        return {"ids": await self._paced.stop(), "refused": self._paced.refused}


class EventStream:
    """MESSAGE_CREATE at `rate` per second, round robin over `shards`, `guilds` guilds on
    each shard (guild ids that Discord would route to that shard), until `stop()`."""

    def __init__(self, sim: DiscordSimulator, rate: float, shards: int, guilds: int) -> None:
        self.sim = sim
        self.lanes = [
            (s, str((s + shards * (g + 1)) << 22)) for g in range(guilds) for s in range(shards)
        ]
        self._paced = Paced(rate, self._send)

    async def _send(self, n: int) -> list[Any]:
        """[message id, shard, guild]"""
        shard, guild = self.lanes[n % len(self.lanes)]
        data = self.sim.guild_events.message(guild, "1100000000000000002", f"event {n}")
        await self.sim.dispatch("MESSAGE_CREATE", data, shard)
        return [str(data["id"]), shard, guild]

    async def stop(self) -> dict[str, Any]:
        return {"sent": await self._paced.stop(), "refused": self._paced.refused}


def event_deliveries(main: MainApp) -> dict[str, Any]:
    """Every event of every batch POSTed to EVENTS_PATH: [event id, message id, guild, when
    the main app read it (this process's monotonic clock), X-Delivery-Attempt]."""
    rows: list[list[Any]] = []
    for request in main.requests:
        if request.path != EVENTS_PATH:
            continue
        attempt = request.headers.get("x-delivery-attempt")
        for event in orjson.loads(request.body)["events"]:
            rows.append([event["id"], event["data"]["id"], event["guild_id"], request.at, attempt])
    return {"rows": rows}


def _verdict(sim: DiscordSimulator, cmd: dict[str, Any]) -> dict[str, Any]:
    rows: dict[str, list[Any]] = {}
    for interaction_id in cmd["ids"]:
        r = sim.interaction(interaction_id)
        if r is None:
            rows[interaction_id] = [None, False, 0, False]
            continue
        first = min(r.callback_at, default=None)
        in_time = (
            r.acked_at is not None and first is not None and first - r.created_at <= ACK_WINDOW
        )
        rows[interaction_id] = [r.shard_id, in_time, len(r.callbacks), r.stale_on_arrival]
    return {"rows": rows}


def _takeovers(sim: DiscordSimulator, cmd: dict[str, Any]) -> dict[str, Any]:
    return {
        "rows": [
            [t.at, t.shard, t.old_connection, t.new_connection, t.kind, t.live, t.idle]
            for t in sim.takeovers
        ]
    }


def _gateway_log(sim: DiscordSimulator, cmd: dict[str, Any]) -> dict[str, Any]:
    return {
        "rows": [[e.at, e.shard, e.connection, e.kind] for e in sim.events if e.kind in _LOGGED]
    }


def _open_by_shard(sim: DiscordSimulator, cmd: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, int] = {}
    for conn in sim.open_connections(None):
        if conn.identified and conn.shard is not None:
            found[str(conn.shard)] = found.get(str(conn.shard), 0) + 1
    return {"open": found}


NODE_OPS: dict[str, Callable[[DiscordSimulator, dict[str, Any]], dict[str, Any]]] = {
    "verdict": _verdict,
    "takeovers": _takeovers,
    "gateway_log": _gateway_log,
    "open_by_shard": _open_by_shard,
}
