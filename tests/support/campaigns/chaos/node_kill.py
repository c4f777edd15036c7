"""Node kills and restarts over three nodes sharing the shards (issue 24, `bench/chaos.py --kill
--nodes 3`): SHARD_IDS=auto, one redis-server, the simulator in its own process with 8 shards,
interactions at 10/s spread over them. Every 20-60 s (seeded) a random node gets SIGKILL (and
starts again 2-30 s later on its STATE_DIR: within the 15 s lease it takes its own shards back
at once, later the others have taken them over) or SIGTERM (and starts again at once: a
deploy; its shards are handed over and back).

Audited from the simulator's records: every interaction acknowledged in time reached the main
app (none lost), none was forwarded twice without X-Redelivery, no IDENTIFY after the first
READYs, no connection ever taken from under a live one; and how long each shard went unheld
(from the close of the connection that held it to the READY or RESUMED of the next), by cause.
"""

from __future__ import annotations

import asyncio
import random
import signal
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.harness.nodes import Cluster, Node
from tests.support.harness.redis_server import redis_server
from tests.support.harness.sim_process import SimProcess, sim_process


@dataclass(frozen=True)
class NodeKillConfig:
    duration: float = 600.0
    seed: int = 1
    nodes: int = 3
    shards: int = 8
    interaction_rate: float = 10.0
    event_interval: tuple[float, float] = (20.0, 60.0)
    restart_after: tuple[float, float] = (2.0, 30.0)  # after a SIGKILL
    lease_seconds: float = 15.0
    main_delay: float = 1.0  # forwards in flight at each kill


@dataclass
class NodeKillReport:
    config: NodeKillConfig
    events: list[tuple[float, str, str]] = field(default_factory=list)  # (at, kind, node)
    sent: int = 0
    acknowledged: int = 0
    stale: int = 0  # replayed later than 3 s (a shard unheld that long): Discord refuses them
    redelivered: int = 0
    lost: list[str] = field(default_factory=list)  # acknowledged, never forwarded
    duplicated: list[str] = field(default_factory=list)  # twice without X-Redelivery
    identifies_after_start: int = 0
    live_takeovers: int = 0
    unheld: dict[str, list[float]] = field(default_factory=dict)  # cause -> seconds

    def violations(self) -> list[str]:
        found = []
        if self.lost:
            found.append(f"{len(self.lost)} acknowledged, never forwarded")
        if self.duplicated:
            found.append(f"{len(self.duplicated)} forwarded twice without X-Redelivery")
        if self.identifies_after_start:
            found.append(f"{self.identifies_after_start} IDENTIFY after the start")
        if self.live_takeovers:
            found.append(f"{self.live_takeovers} takeovers from a live connection")
        return found

    def to_markdown(self) -> str:
        c = self.config
        kinds = Counter(kind for _, kind, _ in self.events)
        lines = [
            f"Node kill campaign: {c.duration:.0f} s, {c.nodes} nodes, {c.shards} shards, "
            f"lease {c.lease_seconds:g} s, interactions at {c.interaction_rate:g}/s, seed {c.seed}",
            "",
            "| figure | value |",
            "|---|---|",
            f"| SIGKILL, restarted within the lease | {kinds['kill, back within the lease']} |",
            f"| SIGKILL, restarted after the lease | {kinds['kill, back after the lease']} |",
            f"| SIGTERM, restarted at once | {kinds['term']} |",
            f"| interactions dispatched | {self.sent} |",
            f"| acknowledged in time | {self.acknowledged} |",
            f"| replayed after their 3 s (not answered) | {self.stale} |",
            f"| acknowledged, never forwarded | {len(self.lost)} |",
            f"| forwarded twice without X-Redelivery | {len(self.duplicated)} |",
            f"| forwarded again with X-Redelivery | {self.redelivered} |",
            f"| IDENTIFY after the first READYs | {self.identifies_after_start} |",
            f"| takeovers from a live connection | {self.live_takeovers} |",
        ]
        for cause, gaps in sorted(self.unheld.items()):
            if gaps:
                lines.append(
                    f"| shard unheld after a {cause}: n, median, max (s) | {len(gaps)}, "
                    f"{statistics.median(gaps):.2f}, {max(gaps):.2f} |"
                )
        return "\n".join(lines)


def unheld_gaps(rows: list[list[Any]], events: list[tuple[float, str]]) -> dict[str, list[float]]:
    """From the simulator's gateway log ([at, shard, connection, kind]): each time a shard's
    holding connection closed, how long until another one was READY or RESUMED; attributed to
    the last node event (`(monotonic at, cause)`) before the close."""
    holder: dict[int, int] = {}  # shard -> connection holding it
    lost_at: dict[int, float] = {}
    gaps: dict[str, list[float]] = {}
    for at, shard, conn, kind in sorted(rows, key=lambda r: r[0]):
        if shard is None:
            continue
        if kind in ("READY", "RESUMED"):
            if shard in lost_at:
                since = lost_at.pop(shard)
                cause = next((k for t, k in reversed(events) if t <= since), "fault")
                gaps.setdefault(cause, []).append(at - since)
            holder[shard] = conn
        elif kind in ("close", "drop") and holder.get(shard) == conn:
            del holder[shard]
            lost_at.setdefault(shard, at)
    return gaps


async def _settled(sim: SimProcess, ids: list[str], timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        verdict = (await sim.call("verdict", ids=ids))["rows"]
        forwarded = {row[0] for row in (await sim.call("forwards"))["rows"]}
        lost = [i for i, row in verdict.items() if row[1] and i not in forwarded]
        if not lost or time.monotonic() > deadline:
            return {"verdict": verdict, "lost": lost}
        await asyncio.sleep(1.0)


async def _event(
    cluster: Cluster, rng: random.Random, config: NodeKillConfig, marks: list[tuple[float, str]]
) -> tuple[str, Node]:
    """One node killed or stopped, then started again; `marks` gets (when, cause) for the
    signal and for the start (the shards handed back to it are unheld a moment too)."""
    node = rng.choice(cluster.nodes)
    if rng.random() < 0.5:
        down = rng.uniform(*config.restart_after)
        kind = f"kill, back {'after' if down > config.lease_seconds else 'within'} the lease"
        marks.append((time.monotonic(), kind))
        cluster.kill(node)
        await asyncio.sleep(down)
    else:
        kind = "term"
        marks.append((time.monotonic(), kind))
        await cluster.terminate(node, signal.SIGTERM)
    marks.append((time.monotonic(), "node's return (hand-back)"))
    await cluster.start(node)
    return kind, node


async def run_node_kill(config: NodeKillConfig, root: Path) -> NodeKillReport:
    rng = random.Random(config.seed)
    report = NodeKillReport(config)
    async with (
        redis_server() as redis_url,
        sim_process(main_delay=config.main_delay, heartbeat_ms=41250, shards=config.shards) as sim,
    ):
        cluster = Cluster(
            sim,
            redis_url,
            root,
            config.nodes,
            shards=config.shards,
            lease_seconds=config.lease_seconds,
        )
        try:
            await cluster.start_all()
            await cluster.wait_balanced(timeout=60)
            identifies = (await sim.call("gateway"))["identifies"]
            await sim.call("stream_start", rate=config.interaction_rate, shards=config.shards)
            started = time.monotonic()
            marks: list[tuple[float, str]] = []
            while time.monotonic() - started < config.duration:
                await asyncio.sleep(rng.uniform(*config.event_interval))
                at = time.monotonic()
                kind, node = await _event(cluster, rng, config, marks)
                report.events.append((at - started, kind, node.name))
            await cluster.wait_balanced(timeout=60)
            await asyncio.sleep(5.0)
            sent = (await sim.call("stream_stop"))["ids"]
            ids = [row[0] for row in sent]
            settled = await _settled(sim, ids)
            verdict = settled["verdict"]
            forwards = (await sim.call("forwards"))["rows"]
            plain = Counter(row[0] for row in forwards if row[1] is None)
            report.sent = len(ids)
            report.acknowledged = sum(1 for row in verdict.values() if row[1])
            report.stale = sum(1 for row in verdict.values() if row[3])
            report.lost = settled["lost"]
            report.duplicated = [i for i, n in plain.items() if n > 1]
            report.redelivered = sum(1 for row in forwards if row[1] == "1")
            report.identifies_after_start = (await sim.call("gateway"))["identifies"] - identifies
            takeovers = (await sim.call("takeovers"))["rows"]
            report.live_takeovers = sum(1 for row in takeovers if row[5])
            log = (await sim.call("gateway_log"))["rows"]
            report.unheld = unheld_gaps([r for r in log if r[0] >= started], marks)
        finally:
            await cluster.close()
    return report
