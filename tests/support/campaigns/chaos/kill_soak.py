"""The chaos soak with SIGKILL restarts (issue 16 "Shows it works", second bullet).

Three processes: the server under test (a real uvicorn running `asgi_app:app` on one
STATE_DIR), the simulator with the stand-in main app (`tests.support.harness.sim_process`, which
outlives every server), and this driver. Interactions arrive steadily; every few seconds the
simulator drops the gateway connection, sends op 7 or op 9 (resumable); every 20-60 s (seeded)
the server gets SIGKILL and starts again on the same STATE_DIR. The fault injector and the
killer take turns (one lock), so each restart's identify or resume is its own.

The server does not report the dispatches it saw, so the dispatches counted are the
INTERACTION_CREATEs: one the server saw tried a callback, was forwarded, or was logged as
dropped at admission (older than 3 s on arrival: a replay after a long enough outage, which
Discord would refuse anyway; counted apart, not as lost). At the end the
driver waits for the last replays, stops the server and audits from the simulator's records
and the journal left in STATE_DIR.
"""

from __future__ import annotations

import asyncio
import random
import re
import signal
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.journal.interactions_sqlite import SqliteJournal
from tests.support.harness.process import ServerProcess
from tests.support.harness.server import free_port
from tests.support.harness.sim_process import SimProcess, sim_process
from tests.support.harness.uvicorn_server import start_server

FAULTS = ("drop", "op7", "op9")
#: The relay's log line for an interaction admission dropped (gateway/interactions/relay.py).
DROPPED = re.compile(r"interaction (\d+) dropped \((\w+),")


@dataclass(frozen=True)
class KillSoakConfig:
    duration: float = 300.0
    seed: int = 1
    kill_interval: tuple[float, float] = (20.0, 60.0)
    fault_interval: tuple[float, float] = (2.0, 6.0)
    interaction_rate: float = 5.0
    main_delay: float = 1.0  # so forwards are in flight at each SIGKILL
    settle_timeout: float = 60.0


@dataclass(frozen=True)
class Restart:
    at: float  # seconds into the run
    identifies: int  # identifies between the SIGKILL and the gateway's return
    resumes: int
    down: float  # SIGKILL to the gateway connected again (s)


@dataclass
class KillSoakReport:
    config: KillSoakConfig
    restarts: list[Restart] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    sent: int = 0  # INTERACTION_CREATEs dispatched into a session
    refused: int = 0  # sends with no resumable session (before the first READY)
    acknowledged: int = 0
    expired: int = 0  # seen, callback refused (10062: replayed later than 3 s)
    too_old: int = 0  # seen, dropped at admission: older than 3 s on arrival (a late replay)
    redeliveries: int = 0  # forwards with X-Redelivery: 1
    forwards: int = 0
    unfinished: list[str] = field(default_factory=list)  # acknowledged, never forwarded
    journal_left: int = 0  # entries left in the journal once the last server stopped
    duplicated: list[str] = field(default_factory=list)  # forwarded twice without X-Redelivery
    lost: list[str] = field(default_factory=list)  # dispatched, never seen by the server
    identifies: int = 0
    resumes: int = 0
    output: str = ""

    def violations(self) -> list[str]:
        found: list[str] = []
        if self.unfinished:
            found.append(f"{len(self.unfinished)} acknowledged never forwarded")
        if self.journal_left:
            found.append(f"{self.journal_left} journal entries left unfinished")
        if self.duplicated:
            found.append(f"{len(self.duplicated)} forwarded twice without X-Redelivery")
        if self.lost:
            found.append(f"{len(self.lost)} dispatches lost")
        if not self.restarts:
            found.append("no SIGKILL restart happened")
        return found

    def to_markdown(self) -> str:
        resumed = sum(1 for r in self.restarts if r.resumes and not r.identifies)
        downs = sorted(r.down for r in self.restarts)
        rows = [
            ("duration (s)", f"{self.config.duration:.0f}"),
            ("seed", str(self.config.seed)),
            ("SIGKILL restarts", str(len(self.restarts))),
            ("restarts resumed / identified", f"{resumed} / {len(self.restarts) - resumed}"),
            ("SIGKILL to gateway back (s, max)", f"{downs[-1]:.1f}" if downs else "-"),
            ("gateway faults", ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items()))),
            ("identifies / resumes (whole run)", f"{self.identifies} / {self.resumes}"),
            ("interactions dispatched", str(self.sent)),
            ("acknowledged", str(self.acknowledged)),
            ("seen but expired (10062)", str(self.expired)),
            ("seen, older than 3 s on arrival (dropped by design)", str(self.too_old)),
            ("forwards / with X-Redelivery", f"{self.forwards} / {self.redeliveries}"),
            ("acknowledged left unfinished", str(len(self.unfinished) + self.journal_left)),
            ("forwarded twice without X-Redelivery", str(len(self.duplicated))),
            ("dispatches lost across resumes", str(len(self.lost))),
        ]
        lines = ["| figure | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in rows]
        return "\n".join(lines)


async def _connects(sim: SimProcess) -> tuple[int, int]:
    g = await sim.call("gateway")
    return int(g["identifies"]), int(g["resumes"])


async def _gateway_back(sim: SimProcess, before: tuple[int, int], timeout: float) -> None:
    """Until an identify or a resume after `before` (or the timeout: the figures show it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while sum(await _connects(sim)) <= sum(before) and loop.time() < deadline:
        await asyncio.sleep(0.1)


class _Run:
    def __init__(self, config: KillSoakConfig, sim: SimProcess, state_dir: Path) -> None:
        self.config = config
        self.sim = sim
        self.state_dir = state_dir
        self.rng = random.Random(config.seed)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/health"
        self.turn = asyncio.Lock()  # faults and restarts take turns
        self.stop = asyncio.Event()
        self.report = KillSoakReport(config)
        self.ids: list[str] = []
        self.outputs: list[str] = []

    async def start_server(self) -> ServerProcess:
        server = start_server(self.sim, self.state_dir, self.port)
        await server.wait_http(self.url)
        return server

    async def send(self) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        n = 0
        while not self.stop.is_set():
            answer = await self.sim.call("send", count=1)
            self.ids += answer["ids"]
            self.report.refused += answer["refused"]
            n += 1
            await asyncio.sleep(max(0.0, start + n / self.config.interaction_rate - loop.time()))

    async def inject(self) -> None:
        while not self.stop.is_set():
            try:
                await asyncio.wait_for(
                    self.stop.wait(), self.rng.uniform(*self.config.fault_interval)
                )
                return
            except TimeoutError:
                pass
            kind = self.rng.choice(FAULTS)
            async with self.turn:
                before = await _connects(self.sim)
                targets = (await self.sim.call("fault", kind=kind))["targets"]
                self.report.faults[kind if targets else "skipped (no connection)"] += 1
                if targets:
                    await _gateway_back(self.sim, before, 30)

    async def kill_loop(self, server: ServerProcess, end: float) -> ServerProcess:
        loop = asyncio.get_running_loop()
        start = end - self.config.duration
        next_kill = loop.time() + self.rng.uniform(*self.config.kill_interval)
        while next_kill < end:
            await asyncio.sleep(max(0.0, next_kill - loop.time()))
            async with self.turn:
                before = await _connects(self.sim)
                killed_at = loop.time()
                await server.terminate(signal.SIGKILL)
                self.outputs.append(server.output)
                server = await self.start_server()
                await _gateway_back(self.sim, before, 60)
                after = await _connects(self.sim)
                self.report.restarts.append(
                    Restart(
                        at=killed_at - start,
                        identifies=after[0] - before[0],
                        resumes=after[1] - before[1],
                        down=loop.time() - killed_at,
                    )
                )
            next_kill = loop.time() + self.rng.uniform(*self.config.kill_interval)
        await asyncio.sleep(max(0.0, end - loop.time()))
        return server

    async def settle(self) -> None:
        """Until nothing is in flight at the main app and no forward came for 3 s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.settle_timeout
        last: tuple[int, int] | None = None
        quiet_since = loop.time()
        while loop.time() < deadline:
            main = await self.sim.call("main")
            now = (int(main["requests"]), int(main["finished"]))
            if now != last:
                last, quiet_since = now, loop.time()
            elif now[0] == now[1] and loop.time() - quiet_since > 3.0:
                return
            await asyncio.sleep(0.2)

    async def audit(self) -> None:
        report = self.report
        report.output = "".join(self.outputs)
        dropped = {m[1]: m[2] for m in DROPPED.finditer(report.output)}
        report.sent = len(self.ids)
        records: dict[str, list[Any]] = (await self.sim.call("records", ids=self.ids))["rows"]
        rows = (await self.sim.call("forwards"))["rows"]
        report.forwards = len(rows)
        report.redeliveries = sum(1 for r in rows if r[1] == "1")
        forwarded = Counter(r[0] for r in rows)
        first_deliveries = Counter(r[0] for r in rows if r[1] is None)
        report.duplicated = sorted(i for i, n in first_deliveries.items() if n > 1)
        for i in self.ids:
            tries, acked = records[i][:2]
            if acked:
                report.acknowledged += 1
                if not forwarded[i]:
                    report.unfinished.append(i)
            elif tries:
                report.expired += 1
            elif dropped.get(i) == "too_old":
                report.too_old += 1
            elif not forwarded[i]:
                report.lost.append(i)
        report.identifies, report.resumes = await _connects(self.sim)
        journal = await SqliteJournal.open(self.state_dir)
        try:
            report.journal_left = len(await journal.pending())
        finally:
            await journal.aclose()


async def run_kill_soak(config: KillSoakConfig, state_dir: Path) -> KillSoakReport:
    state_dir.mkdir(parents=True, exist_ok=True)
    async with sim_process(main_delay=config.main_delay, heartbeat_ms=1000) as sim:
        run = _Run(config, sim, state_dir)
        server = await run.start_server()
        try:
            await _gateway_back(sim, (0, 0), 30)
            loop = asyncio.get_running_loop()
            end = loop.time() + config.duration
            tasks = [asyncio.create_task(run.send()), asyncio.create_task(run.inject())]
            try:
                server = await run.kill_loop(server, end)
            finally:
                run.stop.set()
                await asyncio.gather(*tasks)
            await run.settle()
        finally:
            await server.terminate(signal.SIGTERM)
            run.outputs.append(server.output)
        await run.audit()
        return run.report
