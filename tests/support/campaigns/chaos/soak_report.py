"""What a chaos soak is told (`SoakConfig`) and what it finds (`SoakReport`: figures, the
violations of its bounds, the markdown table bench/chaos.py writes)."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.support.campaigns.chaos.audit import (
    InteractionAudit,
    SequenceAudit,
)
from tests.support.campaigns.chaos.faults import FaultLog


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
        if ia.stale_answered:
            found.append(f"older than 3 s on arrival, yet answered: {ia.stale_answered[:10]}")
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
                "older than 3 s on arrival",
                f"{ia.stale_delivered} (replayed after an outage): called back or forwarded "
                f"{len(ia.stale_answered)}; callback tries that reached Discord after an "
                f"interaction's 3 s: {ia.late_callbacks}",
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
