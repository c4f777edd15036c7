"""The long HTTP fuzzing run (issue 7 item 2): schemathesis on /openapi.json plus hostile
bodies, headers and paths, against the whole server (production settings, simulator Discord),
in rounds with a new seed each, until --cases (default 5,000) or --duration is reached.

    .venv/bin/python bench/fuzz_http.py                  # at least 5,000 cases
    .venv/bin/python bench/fuzz_http.py --duration 600   # ten minutes (and at least --cases)
    .venv/bin/python bench/fuzz_http.py --cases 20000 --seed 7

Prints per campaign: cases, failures, hangs, statuses, latency (p50/p99/worst) against the
p50 of a plain GET /livez measured on the same server in the same run (the peer), and the
server's RSS before and after. Exit status 1 when any case failed or hung.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from tests.support.campaigns.fuzz_http import strategies
from tests.support.campaigns.fuzz_http.campaign import Figures, raw_campaign
from tests.support.campaigns.fuzz_http.live import LiveServer
from tests.support.campaigns.fuzz_http.openapi_campaign import load_schema, openapi_campaign

#: Cases per campaign per round (a round is about 15-20 s on 2 cores).
ROUND = {"schemathesis": 200, "bodies": 150, "headers": 100, "paths": 150}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def peer_latency(live: LiveServer, n: int = 300) -> float:
    """p50 of GET /livez on the same server: the yardstick for fuzz-case latencies."""
    samples = []
    with httpx.Client(base_url=live.base_url) as client:
        for _ in range(n):
            started = time.perf_counter()
            client.get("/livez")
            samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def rss(live: LiveServer) -> int:
    r = httpx.get(live.base_url + "/health/detailed", headers=live.auth, timeout=10)
    value: int = r.json()["memory"]["rss_bytes"]
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=5000, help="minimum total cases")
    parser.add_argument("--duration", type=float, default=0.0, help="minimum seconds to run")
    parser.add_argument("--seed", type=int, default=None, help="first round's seed")
    parser.add_argument("--timeout", type=float, default=10.0, help="a request slower is a hang")
    args = parser.parse_args()
    base_seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"seed {base_seed}; target >= {args.cases} cases, >= {args.duration:.0f} s")

    totals = {name: Figures(name) for name in ROUND}
    with LiveServer() as live:
        schema = load_schema(live)
        peer_before = peer_latency(live)
        rss_before = rss(live)
        started = time.perf_counter()
        campaigns: dict[str, Callable[[int, int], Figures]] = {
            "schemathesis": lambda n, s: openapi_campaign(
                live, cases=n, rng_seed=s, timeout=args.timeout, schema=schema
            ),
            "bodies": lambda n, s: raw_campaign(
                live,
                "bodies",
                strategies.body_requests(live.token),
                cases=n,
                rng_seed=s,
                timeout=args.timeout,
            ),
            "headers": lambda n, s: raw_campaign(
                live,
                "headers",
                strategies.header_requests(live.token),
                cases=n,
                rng_seed=s,
                timeout=args.timeout,
            ),
            "paths": lambda n, s: raw_campaign(
                live,
                "paths",
                strategies.path_requests(live.token),
                cases=n,
                rng_seed=s,
                timeout=args.timeout,
            ),
        }
        round_no = 0
        while True:
            done = sum(f.cases for f in totals.values())
            elapsed = time.perf_counter() - started
            if done >= args.cases and elapsed >= args.duration:
                break
            for name, run in campaigns.items():
                totals[name].merge(run(ROUND[name], base_seed + round_no))
            round_no += 1
            done = sum(f.cases for f in totals.values())
            print(
                f"  round {round_no}: {done} cases, {time.perf_counter() - started:.0f} s",
                flush=True,
            )
        elapsed = time.perf_counter() - started
        peer_after = peer_latency(live)
        rss_after = rss(live)

    peer = (peer_before + peer_after) / 2
    print()
    print(
        f"{'campaign':<13}{'cases':>7}{'failed':>7}{'hangs':>6}{'p50 ms':>8}{'p99 ms':>8}"
        f"{'worst ms':>9}{'p50/peer':>9}"
    )
    everything = Figures("all")
    for figures in totals.values():
        everything.merge(figures)
    for figures in [*totals.values(), everything]:
        p50 = percentile(figures.latencies, 0.5)
        print(
            f"{figures.name:<13}{figures.cases:>7}{figures.failed:>7}{figures.hangs:>6}"
            f"{p50 * 1000:>8.1f}{percentile(figures.latencies, 0.99) * 1000:>8.1f}"
            f"{figures.worst_latency * 1000:>9.0f}{p50 / peer:>9.1f}"
        )
    print()
    print(
        f"peer GET /livez p50: {peer * 1000:.2f} ms (before {peer_before * 1000:.2f}, "
        f"after {peer_after * 1000:.2f})"
    )
    print(
        f"elapsed {elapsed:.0f} s, {everything.cases / elapsed:.0f} cases/s; "
        f"server RSS {rss_before / 2**20:.1f} MiB -> {rss_after / 2**20:.1f} MiB"
    )
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(everything.statuses.items()))
    print(
        f"statuses {{{statuses}}}; protocol rejections (uvicorn, before the app) "
        f"{everything.protocol_rejections}; no answer {everything.no_answer}"
    )
    for line in everything.failures:
        print("FAIL", line[:600])
    return 1 if everything.failed or everything.hangs else 0


if __name__ == "__main__":
    sys.exit(main())
