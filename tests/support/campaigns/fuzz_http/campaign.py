"""Run fuzz campaigns against a LiveServer and collect figures; tests assert, bench prints.

A campaign never raises on a bad answer: it records it (with the exact request) and goes on,
so one run gives every distinct problem and the figures (cases, statuses, worst latency).
Hypothesis runs in the generate phase only (no shrinking): the failing request is reported
byte for byte instead.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisDeprecationWarning

from tests.support.campaigns.fuzz_http.live import LiveServer
from tests.support.campaigns.fuzz_http.rawhttp import (
    DEFAULT_TIMEOUT,
    Hang,
    NoAnswer,
    encode_request,
    exchange,
)
from tests.support.campaigns.fuzz_http.strategies import FuzzRequest
from tests.support.campaigns.fuzz_http.verdict import Answer, judge

MAX_REPORTED = 20


@dataclass
class Figures:
    """What one campaign saw."""

    name: str
    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    protocol_rejections: int = 0  # answered by uvicorn before the app (malformed HTTP)
    no_answer: int = 0  # connection closed without an answer (only allowed for huge bodies)
    hangs: int = 0
    failed: int = 0  # cases with at least one problem (the first MAX_REPORTED in `failures`)
    failures: list[str] = field(default_factory=list)
    worst_latency: float = 0.0
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0

    def record(self, request: object, problems: list[str], latency: float) -> None:
        self.cases += 1
        self.worst_latency = max(self.worst_latency, latency)
        self.latencies.append(latency)
        if problems:
            self.failed += 1
            if len(self.failures) < MAX_REPORTED:
                self.failures.append(f"{'; '.join(problems)}\n    request: {request!r}")

    def merge(self, other: Figures) -> None:
        self.cases += other.cases
        self.statuses.update(other.statuses)
        self.protocol_rejections += other.protocol_rejections
        self.no_answer += other.no_answer
        self.hangs += other.hangs
        self.failed += other.failed
        self.failures.extend(other.failures[: max(0, MAX_REPORTED - len(self.failures))])
        self.worst_latency = max(self.worst_latency, other.worst_latency)
        self.latencies.extend(other.latencies)
        self.elapsed += other.elapsed

    def summary(self) -> str:
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(self.statuses.items()))
        return (
            f"{self.name}: {self.cases} cases in {self.elapsed:.1f} s, "
            f"{self.failed} failures, {self.hangs} hangs, worst latency "
            f"{self.worst_latency * 1000:.0f} ms, protocol rejections {self.protocol_rejections}, "
            f"no answer {self.no_answer}; statuses {{{statuses}}}"
        )


def hypothesis_settings(cases: int) -> settings:
    return settings(
        max_examples=cases,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )


def run_examples(
    strategy: st.SearchStrategy[Any],
    each: Callable[[Any], None],
    *,
    cases: int,
    rng_seed: int,
) -> None:
    """Feed `cases` examples of `strategy` to `each` (seeded: the same seed, the same run)."""

    @seed(rng_seed)
    @hypothesis_settings(cases)
    @given(strategy)
    def drive(example: Any) -> None:
        each(example)

    with warnings.catch_warnings():
        # The server runs in another thread of this process; its use of `random` (gateway
        # jitter) looks to hypothesis like a strategy using the random module.
        warnings.simplefilter("ignore", HypothesisDeprecationWarning)
        drive()


def send(live: LiveServer, request: FuzzRequest, figures: Figures, *, timeout: float) -> None:
    """One raw request, judged; the outcome goes into `figures`."""
    secrets = (live.token, live.sim.token if live.sim is not None else "")
    raw = encode_request(request.method, request.target, request.headers, request.body)
    started = time.perf_counter()
    try:
        answer: Answer = exchange(live.base_url, raw, timeout=timeout)
    except Hang as exc:
        figures.hangs += 1
        figures.record(request, [f"hang: {exc}"], time.perf_counter() - started)
        return
    except NoAnswer as exc:
        figures.no_answer += 1
        big = len(request.body) > live.body_limit
        figures.record(request, [] if big else [f"no answer: {exc}"], time.perf_counter() - started)
        return
    latency = time.perf_counter() - started
    figures.statuses[answer.status] += 1
    if not answer.from_app:
        figures.protocol_rejections += 1
    verdict = judge(
        answer,
        method=request.method,
        path=request.path,
        markers=request.markers.values(),
        secrets=secrets,
        reflected_ok=request.reflected_ok,
    )
    figures.record(request, verdict.problems, latency)


def raw_campaign(
    live: LiveServer,
    name: str,
    strategy: st.SearchStrategy[FuzzRequest],
    *,
    cases: int,
    rng_seed: int,
    timeout: float = DEFAULT_TIMEOUT,
) -> Figures:
    figures = Figures(name)
    started = time.perf_counter()
    run_examples(
        strategy,
        lambda request: send(live, request, figures, timeout=timeout),
        cases=cases,
        rng_seed=rng_seed,
    )
    figures.elapsed = time.perf_counter() - started
    return figures
