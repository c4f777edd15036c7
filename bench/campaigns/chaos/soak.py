"""The chaos soak: the whole server (real uvicorn, production mode) against a simulator that
injects a random fault every 1-5 s, while interactions arrive at 10/s, numbered dispatches at
5/s, overlay updates at 5/s go to 50 Socket.IO clients, and the main app fails 10% of the time.

`run_soak(config, state_dir)` returns a `SoakReport` (figures + violations); the 60 s test
(tests/chaos/test_soak.py) and the long run (bench/chaos.py) both call it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import itertools
import random
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.campaigns.chaos.audit import (
    InteractionAudit,
    Sent,
    SequenceAudit,
    audit_interactions,
    audit_sequence,
)
from bench.campaigns.chaos.faults import FaultInjector, FaultLog
from bench.campaigns.chaos.mainapp import FlakyMainApp
from bench.campaigns.chaos.overlays import OverlayFleet
from bench.harness.app import AUTH_TOKEN, running_app
from bench.harness.server import serve
from gateway.connection.manager import GatewayManager
from gateway.simulator import DiscordSimulator, NoSessionError, factory

ERROR_MESSAGE = "Chaos: the draft app could not answer, please try again."
#: Allocation sites that belong to the server (not the simulator, the clients or this harness).
SERVER_FILES = ("*/asgi_app/*", "*/gateway/*")
NOT_SERVER_FILES = ("*/gateway/simulator/*", "*/tests/*", "*/bench/*")


@dataclass
class SoakConfig:
    duration: float = 60.0
    seed: int = 1
    interaction_rate: float = 10.0
    tick_rate: float = 5.0
    overlay_rate: float = 5.0
    overlays: int = 5
    clients_per_overlay: int = 10
    failure_rate: float = 0.10
    fault_interval: tuple[float, float] = (1.0, 5.0)
    heartbeat_ms: int = 1000
    #: HELLO/READY timeouts of the live shards (protocol: 60 s / 15 s). No setting exists for
    #: them, so the harness shortens them on the shard objects; None keeps the real ones.
    hello_timeout: float | None = 3.0
    ready_timeout: float | None = 3.0
    trace_memory: bool = True  # tracemalloc, one frame: the allocating line
    settle_timeout: float = 120.0


@dataclass
class SoakReport:
    config: SoakConfig
    wall_seconds: float = 0.0
    faults: FaultLog = field(default_factory=FaultLog)
    interactions: InteractionAudit = field(default_factory=InteractionAudit)
    sequence: SequenceAudit = field(default_factory=SequenceAudit)
    connections: int = 0
    identifies: int = 0
    resumes: int = 0
    shard_reconnects: int = 0
    ready_seconds: float = 0.0
    fatal_recoveries: int = 0
    overlay_posts_ok: int = 0
    overlay_posts_failed: int = 0
    overlay_events: int = 0
    overlay_clients: int = 0
    overlay_stale: list[str] = field(default_factory=list)
    overlay_reconnects: int = 0
    overlay_post_p99: float = 0.0
    forward_attempts: int = 0
    forward_attempt_failures: Counter[str] = field(default_factory=Counter)
    relay_stats: dict[str, Any] = field(default_factory=dict)
    tasks_start: int = 0
    tasks_end: int = 0
    rss_start: int = 0
    rss_end: int = 0
    traced_server_growth: int | None = None
    traced_top: list[str] = field(default_factory=list)
    reconnect_gaps: list[float] = field(default_factory=list)
    task_kinds_start: Counter[str] = field(default_factory=Counter)
    task_kinds_end: Counter[str] = field(default_factory=Counter)
    settle_seconds: float = 0.0

    @property
    def harness_tasks_start(self) -> int:
        return sum(n for k, n in self.task_kinds_start.items() if not k.startswith("sim:"))

    @property
    def harness_tasks_end(self) -> int:
        """Tasks other than the simulator's: the server's, uvicorn's, the clients'."""
        return sum(n for k, n in self.task_kinds_end.items() if not k.startswith("sim:"))

    @property
    def reconnects_per_minute(self) -> float:
        return max(0, self.connections - 1) / (self.config.duration / 60)

    def violations(self) -> list[str]:
        found: list[str] = []
        ia, seq = self.interactions, self.sequence
        if ia.late_or_missing:
            found.append(f"not acknowledged within 3 s: {ia.late_or_missing[:10]}")
        if ia.error_missing:
            found.append(f"forward failed, no error message: {ia.error_missing[:10]}")
        if ia.error_after_success:
            found.append(f"error message after a good forward: {ia.error_after_success[:10]}")
        if ia.never_forwarded:
            found.append(f"acknowledged, never forwarded: {ia.never_forwarded[:10]}")
        if seq.lost:
            found.append(f"dispatches lost: {[s.key for s in seq.lost[:10]]}")
        if seq.duplicates:
            found.append(f"dispatches handled twice: {list(seq.duplicates.items())[:10]}")
        if self.faults.stuck:
            found.append(f"client stuck after a fault: {self.faults.stuck[:10]}")
        if self.overlay_stale:
            found.append(f"overlay clients without the last state: {self.overlay_stale[:10]}")
        return found

    def to_markdown(self) -> str:
        c, ia, seq = self.config, self.interactions, self.sequence
        mb = 1024 * 1024
        traced = (
            "not traced"
            if self.traced_server_growth is None
            else f"{self.traced_server_growth / 1024:.0f} KiB held at the end by server code"
        )
        faults = ", ".join(f"{name} x{n}" for name, n in sorted(self.faults.counts.items()))
        skipped = sum(self.faults.skipped.values())
        rows = [
            (
                "run",
                f"{c.duration:.0f} s of chaos (seed {c.seed}), {self.wall_seconds:.0f} s "
                "wall clock with settling",
            ),
            ("faults injected", f"{self.faults.total} ({skipped} skipped: no open connection)"),
            (
                "gateway connections",
                f"{self.connections} ({self.reconnects_per_minute:.1f} "
                f"reconnects/min; {self.resumes} RESUME, {self.identifies} IDENTIFY; fatal "
                f"closes recovered with POST /discord: {self.fatal_recoveries})",
            ),
            (
                "gateway READY",
                f"{self.ready_seconds:.0f} s of {c.duration:.0f} s "
                f"({100 * self.ready_seconds / c.duration:.0f}%); time without a connection "
                f"between two: mean {_mean(self.reconnect_gaps):.1f} s, worst "
                f"{max(self.reconnect_gaps, default=0):.1f} s; settled "
                f"{self.settle_seconds:.0f} s after the chaos stopped",
            ),
            (
                "interactions sent",
                f"{ia.sent} ({dict(ia.by_type)}); refused by Discord (no "
                f"session): {ia.not_dispatched}; buffered in a session that ended: "
                f"{ia.never_written}; written to a connection that died before it was read: "
                f"{ia.on_dying_connection}",
            ),
            ("delivered while connected", f"{ia.delivered_connected}"),
            (
                "acknowledged within 3 s",
                f"{ia.acked_in_time} of {ia.delivered_connected}; "
                f"p50 {1000 * ia.percentile(50):.1f} ms, p99 {1000 * ia.percentile(99):.1f} ms, "
                f"worst {1000 * ia.worst_ack:.1f} ms",
            ),
            (
                "held for a RESUME, replayed",
                f"{ia.replayed}: acknowledged within 3 s of the replay {ia.replayed_in_time}; "
                f"p50 {1000 * _pct(ia.replayed_latencies, 50):.0f} ms, "
                f"p99 {1000 * _pct(ia.replayed_latencies, 99):.0f} ms, "
                f"worst {1000 * max(ia.replayed_latencies, default=0):.0f} ms",
            ),
            (
                "forwards",
                f"{self.forward_attempts} attempts, failures by kind "
                f"{dict(self.forward_attempt_failures)}; {ia.forwarded_ok} interactions "
                f"forwarded, {ia.forward_failed} finally failed",
            ),
            (
                "error shown to the user",
                f"{ia.error_shown} of {ia.forward_failed} failed "
                f"forwards; missing {len(ia.error_missing)}; after a good forward "
                f"{len(ia.error_after_success)}; acknowledged but never forwarded "
                f"{len(ia.never_forwarded)}; autocomplete answered (type 8) "
                f"{ia.autocomplete_answered}",
            ),
            (
                "sequence audit",
                f"{seq.dispatched} numbered dispatches, {seq.must_handle} "
                f"claimed by the client: lost {len(seq.lost)}, handled twice "
                f"{len(seq.duplicates)}; refused (no session) {seq.no_session}; dropped with a "
                f"session Discord ended {seq.lost_with_ended_sessions}",
            ),
            (
                "overlay",
                f"{self.overlay_clients} clients, {self.overlay_posts_ok} POSTs "
                f"(200; {self.overlay_posts_failed} failed), p99 {1000 * self.overlay_post_p99:.0f}"
                f" ms, {self.overlay_events} events received, {self.overlay_reconnects} client "
                f"reconnects; without the last state at the end: {len(self.overlay_stale)}",
            ),
            (
                "asyncio tasks",
                f"{self.tasks_start} at start, {self.tasks_end} at end; without "
                f"the simulator's per-connection tasks {self.harness_tasks_start} -> "
                f"{self.harness_tasks_end}",
            ),
            (
                "memory",
                f"RSS {self.rss_start / mb:.0f} MiB -> {self.rss_end / mb:.0f} MiB "
                f"(whole process: simulator records and 50 clients included); {traced}",
            ),
        ]
        lines = ["| figure | value |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in rows]
        lines.append("")
        lines.append(f"Faults: {faults}.")
        return "\n".join(lines)


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def reconnect_gaps(sim: DiscordSimulator) -> list[float]:
    """Seconds from each gateway connection's close to the next connection's opening."""
    conns = sorted(sim.connections, key=lambda c: c.opened_at)
    return [
        max(0.0, nxt.opened_at - prev.closed_at)
        for prev, nxt in itertools.pairwise(conns)
        if prev.closed_at is not None
    ]


def task_kinds() -> Counter[str]:
    """Live tasks by the qualified name of their coroutine; the simulator's own tasks (one per
    REST keep-alive connection the server's pool opens, up to its 50) are marked "sim:"."""
    kinds: Counter[str] = Counter()
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        code = getattr(coro, "cr_code", None)
        file = code.co_filename if code is not None else ""
        prefix = "sim:" if "/gateway/simulator/" in file else ""
        kinds[prefix + getattr(coro, "__qualname__", type(coro).__name__)] += 1
    return kinds


def rss_bytes() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def server_traces(snapshot: tracemalloc.Snapshot) -> tracemalloc.Snapshot:
    include = [tracemalloc.Filter(True, p) for p in SERVER_FILES]
    exclude = [tracemalloc.Filter(False, p) for p in NOT_SERVER_FILES]
    return snapshot.filter_traces(include).filter_traces(exclude)


CATEGORIES = (
    ("command", 45),
    ("component", 25),
    ("modal", 7),
    ("modal_from_message", 8),
    ("autocomplete", 15),
)


def make_interaction(category: str, n: int) -> dict[str, Any]:
    if category == "command":
        return factory.command("draft")
    if category == "component":  # a fresh message each time: no cooldown reply
        return factory.component("pick:blue", message_id=str(1_300_000_000_000_000_000 + n))
    if category == "modal":
        return factory.modal_submit("trade:modal", {"note": "hi"})
    if category == "modal_from_message":
        return factory.modal_submit(
            "trade:modal",
            {"note": "hi"},
            from_message=True,
            message_id=str(1_400_000_000_000_000_000 + n),
        )
    return factory.autocomplete("draft", "pokemon", "pika")


class Soak:
    """One run; the pieces are attributes so a test can look at them afterwards."""

    def __init__(self, config: SoakConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.sim = DiscordSimulator(heartbeat_interval_ms=config.heartbeat_ms)
        self.main = FlakyMainApp(config.failure_rate, seed=config.seed + 1)
        self.report = SoakReport(config)
        self.handled: Counter[str] = Counter()
        self.handled_at: dict[str, float] = {}
        self.dispatched_at: dict[str, float] = {}
        self.sent: list[Sent] = []
        self.interactions: list[tuple[str, str]] = []
        self.not_dispatched: set[str] = set()
        self.status_log: list[tuple[float, str]] = []

    # ---- feeders ------------------------------------------------------------------------
    async def _paced(self, rate: float, stop: asyncio.Event, step: Any) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        n = 0
        while not stop.is_set():
            n += 1
            await step(n)
            delay = start + n / rate - loop.time()
            if delay > 0:
                try:
                    await asyncio.wait_for(stop.wait(), delay)
                except TimeoutError:
                    pass

    async def _tick(self, n: int) -> None:
        sim = self.sim
        session = sim.session(0)
        try:
            seq = await sim.dispatch("CHAOS_TICK", {"n": n})
        except NoSessionError:
            self.sent.append(Sent(f"t{n}", None, None))
            return
        assert session is not None
        self.sent.append(Sent(f"t{n}", session.session_id, seq))

    async def _interaction(self, n: int) -> None:
        sim = self.sim
        weights = [w for _, w in CATEGORIES]
        category = self.rng.choices([c for c, _ in CATEGORIES], weights)[0]
        payload = make_interaction(category, n)
        interaction_id = payload["id"] = sim.ids.next()
        self.interactions.append((interaction_id, category))
        self.dispatched_at[interaction_id] = time.monotonic()
        session = sim.session(0)
        try:
            await sim.send_interaction(payload)
        except NoSessionError:
            self.not_dispatched.add(interaction_id)
            self.sent.append(Sent(interaction_id, None, None))
            return
        assert session is not None
        seq = next(
            (
                d.seq
                for d in reversed(session.history)
                if d.name == "INTERACTION_CREATE" and d.data.get("id") == interaction_id
            ),
            None,
        )
        self.sent.append(Sent(interaction_id, session.session_id, seq))

    # ---- gateway helpers ----------------------------------------------------------------
    def _shorten_timeouts(self, manager: GatewayManager) -> None:
        c = self.config
        for shard in manager.shards:
            timings = shard.timings
            if c.hello_timeout is not None:
                timings = dataclasses.replace(timings, hello_timeout=c.hello_timeout)
            if c.ready_timeout is not None:
                timings = dataclasses.replace(timings, ready_timeout=c.ready_timeout)
            shard.timings = timings

    def _ready_seconds(self, start: float, end: float) -> float:
        """Seconds the gateway was READY between `start` and `end`."""
        total, since = 0.0, None
        for at, status in [*self.status_log, (end, "end")]:
            at = min(max(at, start), end)
            if status == "ready" and since is None:
                since = at
            elif status != "ready" and since is not None:
                total += at - since
                since = None
        return total

    def _final_claim_done(self) -> bool:
        """The client's last heartbeat on the live connection covers the session's last seq."""
        session = self.sim.session(0)
        if session is None or session.connection is None or not session.connection.open:
            return False
        conn_id = session.connection.id
        for event in reversed(self.sim.events[-400:]):
            if (
                event.connection == conn_id
                and event.kind == "HEARTBEAT"
                and event.direction == "in"
            ):
                d = event.payload.get("d")
                return isinstance(d, int) and d >= session.seq
        return False

    # ---- the run ------------------------------------------------------------------------
    async def run(self, state_dir: Path) -> SoakReport:
        sim, report = self.sim, self.report
        loop = asyncio.get_running_loop()
        wall_start = loop.time()
        await sim.start()
        try:
            async with serve(self.main, log_level="critical") as main_url:
                async with running_app(
                    state_dir,
                    sim=sim,
                    FORWARD_URL=main_url + "/api/discord/interactions",
                    RATE_LIMIT_PER_MINUTE="10000000",
                    INTERACTION_ERROR_MESSAGE=ERROR_MESSAGE,
                    LOG_LEVEL="WARNING",
                ) as srv:
                    await self._run_with(srv, loop)
        finally:
            await sim.stop()
        report.wall_seconds = loop.time() - wall_start
        return report

    async def _run_with(self, srv: Any, loop: asyncio.AbstractEventLoop) -> None:
        c, sim, report = self.config, self.sim, self.report
        services = srv.app.services
        manager: GatewayManager = services.gateway
        relay = services.relay

        async def on_tick(data: Any, shard: Any) -> None:
            self.handled[f"t{data['n']}"] += 1

        async def on_interaction(data: Any, shard: Any) -> None:
            self.handled[str(data["id"])] += 1
            self.handled_at.setdefault(str(data["id"]), time.monotonic())

        manager.on("CHAOS_TICK", on_tick)
        manager.on("INTERACTION_CREATE", on_interaction)
        manager.on_status(lambda status, reason: self.status_log.append((loop.time(), status)))
        self.status_log.append((loop.time(), manager.status()))
        self._shorten_timeouts(manager)

        async def recover() -> None:
            """The operator's answer to a fatal close: POST /discord (restart)."""
            try:
                await asyncio.wait_for(manager.wait_for("failed"), 10)
            except TimeoutError:
                pass
            answer = await srv.http.post("/discord")
            assert answer.status_code < 300, answer.text
            report.fatal_recoveries += 1
            await asyncio.wait_for(manager.wait_for("connecting", "resuming", "ready"), 10)

        fleet = OverlayFleet(
            srv.url,
            AUTH_TOKEN,
            [f"stage{i}" for i in range(c.overlays)],
            c.clients_per_overlay,
            notify=sim.notify,
        )
        await fleet.connect()
        try:
            injector = FaultInjector(
                sim,
                recover=recover,
                rng=random.Random(c.seed + 2),
                interval=c.fault_interval,
                heartbeat_interval=c.heartbeat_ms / 1000,
                before=lambda: self._shorten_timeouts(manager),
            )
            gc.collect()
            report.tasks_start = len(asyncio.all_tasks())
            report.task_kinds_start = task_kinds()
            report.rss_start = rss_bytes()
            if c.trace_memory:
                tracemalloc.start(1)
            stop = asyncio.Event()
            run_start = loop.time()
            jobs = [
                asyncio.create_task(self._paced(c.interaction_rate, stop, self._interaction)),
                asyncio.create_task(self._paced(c.tick_rate, stop, self._tick)),
                asyncio.create_task(fleet.post_loop(srv.http, c.overlay_rate, stop)),
                asyncio.create_task(injector.run(stop)),
            ]
            try:
                done, _ = await asyncio.wait(
                    jobs, timeout=c.duration, return_when="FIRST_EXCEPTION"
                )
                for job in done:
                    job.result()  # a crashed feeder or fault fails the run at once
            finally:
                stop.set()
                await asyncio.gather(*jobs)
            run_end = loop.time()
            await injector.heal()
            report.faults = injector.log

            # Settle: gateway READY, every dispatch of the live session claimed by the client,
            # every interaction finished, every overlay client up to date.
            if manager.status() == "failed":
                await recover()

            def settled() -> bool:
                return (
                    manager.status() == "ready"
                    and self._final_claim_done()
                    and relay.stats.in_flight == 0
                    and manager.handler_tasks == 0
                    and not fleet.stale()
                )

            try:
                await sim.wait_for(settled, c.settle_timeout, what="(soak settled)")
            except TimeoutError:
                pass  # the audits below say what did not settle
            report.settle_seconds = loop.time() - run_end
            gc.collect()
            if c.trace_memory:
                snapshot = server_traces(tracemalloc.take_snapshot())
                tracemalloc.stop()
                stats = snapshot.statistics("lineno")
                report.traced_server_growth = sum(s.size for s in stats)
                report.traced_top = [str(s) for s in stats[:10]]
            report.tasks_end = len(asyncio.all_tasks())
            report.task_kinds_end = task_kinds()
            report.rss_end = rss_bytes()
            report.ready_seconds = self._ready_seconds(run_start, run_end)
        finally:
            await fleet.close()

        report.sequence = audit_sequence(sim, self.sent, self.handled)
        report.interactions = audit_interactions(
            sim,
            self.interactions,
            not_dispatched=self.not_dispatched,
            forward_attempts=self.main.attempts,
            handled_at=self.handled_at,
            dispatched_at=self.dispatched_at,
            error_message=ERROR_MESSAGE,
        )
        report.connections = len(sim.connections)
        report.reconnect_gaps = reconnect_gaps(sim)
        report.identifies = len(sim.identifies)
        report.resumes = len(sim.resumes)
        report.shard_reconnects = sum(s["reconnects"] for s in manager.snapshot())
        report.overlay_posts_ok = fleet.posts_ok
        report.overlay_posts_failed = fleet.posts_failed
        report.overlay_events = sum(cl.received for cl in fleet.clients)
        report.overlay_clients = len(fleet.clients)
        report.overlay_stale = [
            f"{cl.overlay}: {None if cl.last is None else cl.last.get('chaosSeq')}"
            for cl in fleet.stale()
        ]
        report.overlay_reconnects = fleet.reconnects
        latencies = sorted(fleet.post_latencies)
        if latencies:
            report.overlay_post_p99 = latencies[int(0.99 * (len(latencies) - 1))]
        outcomes = [o for attempts in self.main.attempts.values() for o in attempts]
        report.forward_attempts = len(outcomes)
        report.forward_attempt_failures = Counter(o for o in outcomes if o != "ok")
        report.relay_stats = relay.stats.snapshot()


async def run_soak(config: SoakConfig, state_dir: Path) -> SoakReport:
    started = time.monotonic()
    report = await Soak(config).run(state_dir)
    report.wall_seconds = time.monotonic() - started
    return report
