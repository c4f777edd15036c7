"""A fuzz campaign over one GatewayRig: hypothesis draws faults, each case is judged, the
figures are collected. A case never raises on a broken property: it is recorded (with the
fault) and the campaign goes on; tests assert on the figures, bench/fuzz_gateway.py prints them.
"""

from __future__ import annotations

import resource
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import HypothesisDeprecationWarning

from .rig import GatewayRig, Step
from .strategies import KIND_STRATEGIES, Fault

MAX_REPORTED = 20
IDENTIFY_CLOSES = frozenset({1000, 1001, 4003, 4005, 4007, 4009})
CAUSES = ("invalid HELLO", "not HELLO", "undecodable", "corrupt frame", "closed by the server")


@dataclass
class Figures:
    compression: str
    cases: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    reconnects: int = 0
    identifies: int = 0
    dropped: int = 0
    crashes: int = 0  # exceptions that reached the loop's handler, or "unexpected error" logs
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    max_rss_mib: float = 0.0
    log_lines: int = 0

    def line(self) -> str:
        return (
            f"{self.compression:<12} cases={self.cases} reconnects={self.reconnects}"
            f" identifies={self.identifies} dropped={self.dropped} crashes={self.crashes}"
            f" failed={self.failed} duration={self.elapsed:.1f}s max_rss={self.max_rss_mib:.0f}MiB"
        )


def judge(rig: GatewayRig, step: Step, token: str) -> list[str]:
    """Every property of one case; an empty list when all hold."""
    problems: list[str] = []
    fault = step.fault
    text = "\n".join(step.logs)
    if token in text:
        problems.append("the bot token is in a log line")
    if "unexpected error" in text or ("dispatch of" in text and "failed" in text):
        problems.append("an exception escaped the receive path (logged as unexpected)")
    told = text.count("reconnecting (")
    if told != step.reconnects:
        problems.append(f"{step.reconnects} reconnects but {told} logged with a cause")
    if fault.kind in ("shape", "event"):
        payload = fault.payload if fault.kind == "shape" else None
        is_dispatch = (
            isinstance(payload, dict) and type(payload.get("op")) is int and payload["op"] == 0
        )
        timing = "zombie connection" in text or "stalled" in text  # load, not the input
        if (fault.kind == "event" or is_dispatch) and step.reconnects and not timing:
            causes = [
                line.split(" after ", 1)[-1] for line in step.logs if "reconnecting (" in line
            ]
            problems.append(f"a dispatch (of the wrong shape) cost the connection: {causes}")
        if is_dispatch and not (step.dropped or step.duplicates) and "dropped" not in text:
            problems.append("a dispatch of the wrong shape was not logged as dropped")
    elif fault.kind == "corrupt":
        if not step.reconnects or step.identified:
            problems.append("a corrupt frame did not end in a resume")
        if "corrupt frame" not in text and "undecodable" not in text:
            problems.append("the corrupt frame is not named in the log")
    elif fault.kind == "close":
        if not step.reconnects:
            problems.append("no reconnect after a close")
        if step.identified != (fault.payload[0] in IDENTIFY_CLOSES):
            problems.append(f"close {fault.payload[0]}: identified={step.identified}")
    elif fault.kind == "hello":
        if step.reconnects < 2 or step.identified:
            problems.append("a bad HELLO did not end in a resume on a new connection")
        if not any(cause in text for cause in CAUSES[:4]):
            problems.append("the bad HELLO is not named in the log")
    return problems


def run(
    compression: str,
    cases: int,
    *,
    seed_value: int = 0,
    duration: float | None = None,
    heartbeat_ms: int = 400,
) -> Figures:
    """`cases` hypothesis examples (or until `duration` seconds passed) against one rig."""
    figures = Figures(compression)
    start = time.monotonic()
    with GatewayRig(compression, heartbeat_ms=heartbeat_ms, seed=seed_value) as rig:
        token = rig.sim.token

        unsettled = 0  # cases in a row that did not settle: the rig is stuck, stop

        def case(fault: Fault) -> None:
            nonlocal unsettled
            if (duration is not None and time.monotonic() - start > duration) or unsettled >= 3:
                return
            try:
                step = rig.case(fault)
            except Exception as exc:  # did not settle: READY again, in step, within 15 s
                figures.cases += 1
                figures.failed += 1
                shard = rig.shard
                session = rig.sim.session()
                state = (
                    f"{shard.status.value} seq={shard.seq} reason={shard.last_close_reason}"
                    f" sim_seq={session.seq if session else None}"
                    f" markers={rig.markers_sent[-3:]}/{rig.markers_seen[-3:]}"
                )
                figures.failures.append(f"{fault!r}: did not settle ({exc!r}; {state})")
                unsettled += 1
                return
            unsettled = 0
            figures.cases += 1
            figures.kinds[fault.kind] += 1
            figures.reconnects += step.reconnects
            figures.identifies += step.identified
            figures.dropped += step.dropped
            figures.log_lines += len(step.logs)
            problems = judge(rig, step, token)
            if rig.loop_errors:
                figures.crashes += len(rig.loop_errors)
                problems.append(f"loop exception handler: {rig.loop_errors[-1].get('message')}")
                rig.loop_errors.clear()
            if any("unexpected error" in line for line in step.logs):
                figures.crashes += 1
            if problems:
                figures.failed += 1
                if len(figures.failures) < MAX_REPORTED:
                    figures.failures.append(f"{fault!r}: {'; '.join(problems)}")

        shares = sum(weight for _, weight in KIND_STRATEGIES)
        rounds = 0
        while (
            figures.cases < cases
            and (duration is None or time.monotonic() - start < duration)
            and unsettled < 3
        ):
            for strategy, weight in KIND_STRATEGIES:
                share = max(1, cases * weight // shares)
                if duration is not None:
                    share = min(share, 50 * weight)  # short rounds: every kind keeps coming up
                runner = seed(seed_value + rounds)(
                    settings(
                        max_examples=share,
                        phases=[Phase.generate],
                        deadline=None,
                        database=None,
                        suppress_health_check=list(HealthCheck),
                    )(given(strategy)(case))
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", HypothesisDeprecationWarning)
                    runner()
            rounds += 1
            if duration is None:
                break
        figures.elapsed = time.monotonic() - start
        trace_problem = _sequence_problem(rig.seq_trace)
        if trace_problem:
            figures.failed += 1
            figures.failures.append(trace_problem)
    figures.max_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def _sequence_problem(trace: list[tuple[str | None, int | None]]) -> str | None:
    """Within one session the sequence never goes backwards."""
    last: dict[str | None, int] = {}
    for session, seq in trace:
        if seq is None:
            return f"session {session}: no sequence after settling"
        if seq < last.get(session, 0):
            return f"session {session}: sequence went back from {last[session]} to {seq}"
        last[session] = seq
    return None
