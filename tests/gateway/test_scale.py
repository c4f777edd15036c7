"""256 shards in one process against the simulator at max_concurrency 16, identify rate
enforced (an IDENTIFY within 5 s of its bucket's previous one gets op 9): every shard READY in
16 rounds of 5 s (plus the client's 0.25 s margin), no invalid session, no zombie. Real time
(about 80 s, kept as one test): the simulator and the client share no clock but the machine's,
so nothing here can be faked honestly.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Awaitable, Callable
from itertools import pairwise

import pytest

from gateway.connection import GatewayManager
from gateway.connection.protocol import IDENTIFY_MARGIN
from gateway.simulator import DiscordSimulator
from tests.support.harness.shards import FAST

pytestmark = pytest.mark.timeout(240)

MakeSim = Callable[..., Awaitable[DiscordSimulator]]
MakeManager = Callable[..., GatewayManager]

SHARDS = 256
CONCURRENCY = 16
ROUNDS = SHARDS // CONCURRENCY


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_256_shards_ready_in_16_identify_rounds(
    make_sim: MakeSim, make_manager: MakeManager
) -> None:
    sim = await make_sim(
        shards=SHARDS,
        max_concurrency=CONCURRENCY,
        identify_interval=5.0,
        enforce_identify_rate=True,
        heartbeat_interval_ms=5000,  # a zombie (no ACK within 5 s) would show
    )
    timings = dataclasses.replace(
        FAST, connect_timeout=30.0, hello_timeout=30.0, identify_interval=5.0
    )
    mgr = make_manager(sim, timings=timings)
    before = rss_bytes()
    started = time.monotonic()
    await mgr.start()
    await asyncio.wait_for(mgr.wait_for("ready"), ROUNDS * 5.0 + 20)
    elapsed = time.monotonic() - started
    after = rss_bytes()
    per_bucket: dict[int, list[float]] = {}
    for event in sim.identifies:
        per_bucket.setdefault(event.payload["d"]["shard"][0] % CONCURRENCY, []).append(event.at)
    gaps = [b - a for times in per_bucket.values() for a, b in pairwise(times)]
    assert len(mgr.shards) == SHARDS
    assert sim.identify_violations == [], sorted(gaps)[:25]
    assert sim.sent("INVALID_SESSION") == []
    assert len(sim.identifies) == SHARDS and sim.resumes == []
    assert all(s.reconnects == 0 for s in mgr.shards)  # no zombie, no reconnect at all
    assert len(sim.connections) == SHARDS
    # 16 rounds of 5 s (and the margin): never faster, since the rate holds
    assert (ROUNDS - 1) * 5.0 <= elapsed <= ROUNDS * (5.0 + IDENTIFY_MARGIN) + 2.0, elapsed
    assert len(gaps) == SHARDS - CONCURRENCY and min(gaps) >= 5.0
    print(  # recorded in docs/PERFORMANCE.md
        f"\n256 shards READY in {elapsed:.1f} s; identify gaps min {min(gaps):.3f} s;"
        f" RSS +{(after - before) / SHARDS / 1024:.1f} KiB per shard (client and simulator)"
    )
