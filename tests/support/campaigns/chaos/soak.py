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
import random
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

from gateway.connection.manager import GatewayManager
from gateway.simulator import DiscordSimulator, NoSessionError
from tests.support.campaigns.chaos.audit import Sent, audit_interactions, audit_sequence
from tests.support.campaigns.chaos.faults import FaultInjector
from tests.support.campaigns.chaos.mainapp import FlakyMainApp
from tests.support.campaigns.chaos.overlays import OverlayFleet
from tests.support.campaigns.chaos.soak_probes import (
    CATEGORIES,
    make_interaction,
    reconnect_gaps,
    rss_bytes,
    server_traces,
    task_kinds,
)
from tests.support.campaigns.chaos.soak_report import SoakConfig, SoakReport
from tests.support.harness.app import AUTH_TOKEN, running_app
from tests.support.harness.server import serve

ERROR_MESSAGE = "Chaos: the draft app could not answer, please try again."

__all__ = ["SoakConfig", "SoakReport", "run_soak"]


class Soak:
    """One run; the pieces are attributes so a test can look at them afterwards."""

    def __init__(self, config: SoakConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.sim = DiscordSimulator(heartbeat_interval_ms=config.heartbeat_ms)
        self.main = FlakyMainApp(
            config.failure_rate, seed=config.seed + 1, on_forward=self.sim.note_forward
        )
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
            timings = shard.state.timings
            if c.hello_timeout is not None:
                timings = dataclasses.replace(timings, hello_timeout=c.hello_timeout)
            if c.ready_timeout is not None:
                timings = dataclasses.replace(timings, ready_timeout=c.ready_timeout)
            shard.state.timings = timings

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
        discord = srv.app.services.running.discord
        manager: GatewayManager = discord.gateway
        relay = discord.relay

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
