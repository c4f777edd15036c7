"""The simulator process's commands for several nodes (sim_process.py): a stream of
interactions spread over the shards, what became of them, and the gateway's record of who
connected, resumed and took over which shard."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from gateway.simulator import DiscordSimulator, NoSessionError, factory
from gateway.simulator.interaction_log import ACK_WINDOW

_LOGGED = frozenset({"IDENTIFY", "RESUME", "READY", "RESUMED", "close", "drop"})


class Stream:
    """Commands at `rate` per second, round robin over `shards`, until `stop()`."""

    def __init__(self, sim: DiscordSimulator, rate: float, shards: int) -> None:
        self.sim = sim
        self.rate = rate
        self.shards = shards
        self.sent: list[list[Any]] = []
        self.refused = 0
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        start, n = loop.time(), 0
        while True:
            shard = n % self.shards
            try:
                payload = await self.sim.send_interaction(factory.command("draft"), shard)
                self.sent.append([str(payload["id"]), shard])
            except NoSessionError:
                self.refused += 1
            n += 1
            await asyncio.sleep(max(0.0, start + n / self.rate - loop.time()))

    async def stop(self) -> dict[str, Any]:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        return {"ids": self.sent, "refused": self.refused}


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
