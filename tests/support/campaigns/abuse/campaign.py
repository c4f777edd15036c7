"""One abuse phase: an attack process against the server while a legitimate client measures
its requests and the server's memory is sampled; the same probe without attack is the peer.

Used by tests/abuse (short runs with generous bounds) and bench/abuse.py (long runs, figures).
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.simulator import DiscordSimulator, factory
from tests.support.campaigns.abuse.attacks import Target, read_response
from tests.support.campaigns.abuse.server import GunicornServer
from tests.support.harness.app import AUTH_TOKEN
from tests.support.harness.process import ROOT, clean_env

#: Source addresses: the server sees each role as a different client.
LEGIT_SOURCE = "127.0.0.5"
ATTACK_SOURCE = "127.0.0.2"
#: The default trusted proxy (FORWARDED_ALLOW_IPS): a "proxy" attack comes from here.
PROXY_SOURCE = "127.0.0.1"

#: What a legitimate client asks, over a new connection each time: a public route that
#: touches the gateway status and a protected one (rate limit, origin, token checks).
LEGIT_REQUESTS = (
    b"GET /health HTTP/1.1\r\nHost: legit\r\n\r\n",
    b"GET /overlay HTTP/1.1\r\nHost: legit\r\nAuthorization: Bearer "
    + AUTH_TOKEN.encode()
    + b"\r\n\r\n",
)
LEGIT_TIMEOUT = 15.0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Phase:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)
    rss_after_kib: int = 0
    fds_after: int = 0
    attack: dict[str, Any] = field(default_factory=dict)
    alongside: dict[str, Any] = field(default_factory=dict)  # what ran in this process too
    secret_hits: int = 0

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 99)

    @property
    def rss_growth_kib(self) -> int:
        """Peak RSS during the phase (or after it) above RSS at its start."""
        return max([*self.rss_kib, self.rss_after_kib]) - self.rss_kib[0]

    def row(self) -> dict[str, Any]:
        return {
            "phase": self.name,
            "legit": len(self.latencies_ms),
            "legit_failed": len(self.failures),
            "p50_ms": round(self.p50, 1),
            "p99_ms": round(self.p99, 1),
            "max_ms": round(max(self.latencies_ms, default=0.0), 1),
            "rss_start_mib": round(self.rss_kib[0] / 1024, 1),
            "rss_peak_mib": round(max(self.rss_kib) / 1024, 1),
            "rss_after_mib": round(self.rss_after_kib / 1024, 1),
            "fds_peak": max(self.fds),
            "fds_after": self.fds_after,
        }


class Legit:
    """The legitimate client: one request at a time, each on a new connection."""

    def __init__(self, server: GunicornServer, secrets: list[str]) -> None:
        self.target = Target("127.0.0.1", server.port, LEGIT_SOURCE)
        self.secrets = secrets

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        reader, writer = await self.target.open()
        try:
            writer.write(raw)
            return await read_response(self.target, reader)
        finally:
            writer.close()

    async def once(self, phase: Phase, raw: bytes) -> None:
        started = time.perf_counter()
        try:
            status, _ = await asyncio.wait_for(self.request(raw), LEGIT_TIMEOUT)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            phase.failures.append(type(exc).__name__)
            return
        if status != 200:
            phase.failures.append(f"status {status}")
            return
        phase.latencies_ms.append((time.perf_counter() - started) * 1000)


def attack_env(secrets: list[str]) -> dict[str, str]:
    return clean_env(ABUSE_SECRETS="\n".join(secrets))


async def run_phase(
    server: GunicornServer,
    name: str,
    *,
    secrets: list[str],
    attack: tuple[str, dict[str, Any]] | None = None,
    probe_seconds: float = 2.0,
    probe_interval: float = 0.1,
    settle_seconds: float = 0.5,
    alongside: Callable[[], Awaitable[dict[str, Any]]] | None = None,
) -> Phase:
    """Run `attack` (kind, options) in a process of its own while the legitimate client asks
    its requests every `probe_interval` s (for at least `probe_seconds`, and as long as the
    attack lasts) and the worker's RSS and open descriptors are sampled. `alongside` runs in
    this process meanwhile (e.g. interactions through the simulator); its result is
    `phase.alongside`."""
    phase = Phase(name)
    legit = Legit(server, secrets)
    phase.rss_kib.append(server.rss_kib())
    phase.fds.append(server.open_fds())
    proc: asyncio.subprocess.Process | None = None
    if attack is not None:
        kind, options = attack
        options = {"host": "127.0.0.1", "port": server.port, "source": ATTACK_SOURCE, **options}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.support.campaigns.abuse.attacks",
            kind,
            json.dumps(options),
            cwd=Path(ROOT),
            env=attack_env(secrets),
            stdout=asyncio.subprocess.PIPE,
        )
    communicate = asyncio.ensure_future(proc.communicate()) if proc else None
    beside = asyncio.ensure_future(alongside()) if alongside is not None else None
    loop = asyncio.get_running_loop()
    started = loop.time()
    tick = 0
    while (
        loop.time() - started < probe_seconds
        or (communicate and not communicate.done())
        or (beside and not beside.done())
    ):
        await legit.once(phase, LEGIT_REQUESTS[tick % len(LEGIT_REQUESTS)])
        tick += 1
        phase.rss_kib.append(server.rss_kib())
        phase.fds.append(server.open_fds())
        await asyncio.sleep(probe_interval)
    if communicate is not None and proc is not None:
        out, _ = await communicate
        assert proc.returncode == 0, f"attack {name} failed ({proc.returncode})"
        phase.attack = json.loads(out.decode().strip().splitlines()[-1])
        phase.secret_hits += int(phase.attack.get("secret_hits", 0))
    if beside is not None:
        phase.alongside = await beside
    await asyncio.sleep(settle_seconds)
    phase.rss_after_kib = server.rss_kib()
    phase.fds_after = server.open_fds()
    phase.secret_hits += legit.target.secret_hits
    return phase


async def interactions_told(
    sim: DiscordSimulator, main_port: int, *, count: int, spacing: float, within: float = 40.0
) -> dict[str, Any]:
    """Once the main app listens on `main_port`, send `count` slash commands through the
    simulator, `spacing` s apart; wait (up to `within` s) until each was acknowledged and its
    user told the error (its webhook called): what a failed forward ends with."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", main_port)
        except OSError:
            if loop.time() > deadline:
                raise
            await asyncio.sleep(0.05)
            continue
        writer.close()
        break
    sent = []
    for _ in range(count):
        sent.append(await sim.send_interaction(factory.command("draft")))
        await asyncio.sleep(spacing)

    def told() -> set[str]:
        tokens = {s["token"] for s in sent}
        return {
            token
            for r in sim.rest.requests
            if r.path.startswith("/webhooks/")
            for token in tokens
            if token in r.path
        }

    while len(told()) < count and loop.time() < deadline:
        await asyncio.sleep(0.1)
    acknowledged = 0
    for s in sent:
        record = sim.interaction(s["id"])
        acknowledged += record is not None and record.ack_type == 5
    return {"interactions": count, "acknowledged": acknowledged, "told": len(told())}


def report(phases: list[Phase]) -> str:
    """A plain table: one row per phase, latency ratios against the first (the baseline)."""
    base = phases[0]
    lines = [
        f"{'phase':<22}{'legit':>7}{'fail':>6}{'p50 ms':>9}{'p99 ms':>9}{'p99/base':>10}"
        f"{'RSS start':>11}{'peak':>8}{'after':>8}{'fds pk':>8}"
    ]
    for phase in phases:
        row = phase.row()
        ratio = phase.p99 / base.p99 if base.p99 else float("nan")
        lines.append(
            f"{phase.name:<22}{row['legit']:>7}{row['legit_failed']:>6}{row['p50_ms']:>9}"
            f"{row['p99_ms']:>9}{ratio:>10.2f}{row['rss_start_mib']:>11}"
            f"{row['rss_peak_mib']:>8}{row['rss_after_mib']:>8}{row['fds_peak']:>8}"
        )
    return "\n".join(lines)
