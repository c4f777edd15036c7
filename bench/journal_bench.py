"""The interaction journal: its throughput per store, and what it costs the acknowledgement.

Throughput: COUNT interactions, CONCURRENCY in flight, each one claim + record + finish (the
journal's whole work for one interaction), against SQLite in a temporary STATE_DIR and a real
redis-server on loopback (started here; `--redis-server PATH` to pick the binary).

Acknowledgement: the relay of bench/relay_ack_bench.py (simulator and stand-in main app in a
child process, main app SLOW s per forward) with the in-memory journal (what a server with
neither STATE_DIR nor REDIS_URL has: the journal is never absent), with SQLite, with Redis, in
ROUNDS interleaved rounds of ACKS interactions at RATE/s each, all in the same run, so the
machine's other load falls on every configuration alike. Target: the durable journals' p50 and
p99 within 1.1x of the in-memory one.

    .venv/bin/python bench/journal_bench.py [--count 20000] [--concurrency 100]
        [--acks 300] [--rate 100] [--rounds 5] [--slow 2.0] [--skip-acks]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

import orjson

from gateway.journal.interactions import Journal, JournalEntry, MemoryJournal
from gateway.journal.interactions_redis import RedisJournal
from gateway.journal.interactions_sqlite import SqliteJournal
from tests.support.harness.redis_server import redis_server
from tests.support.harness.relay_stack import percentile, wired_relay
from tests.support.harness.sim_process import SimProcess, sim_process

Opener = Callable[[], Awaitable[Journal]]


async def throughput(journal: Journal, count: int, concurrency: int) -> tuple[float, list[float]]:
    """(interactions per second, record latencies in s)."""
    now = time.time()
    raw = orjson.dumps({"id": "0", "type": 2, "token": "t" * 200, "data": {"name": "draft"}})
    slots = asyncio.Semaphore(concurrency)
    records: list[float] = []

    async def one(i: int) -> None:
        async with slots:
            interaction_id = str(10**17 + i)
            if not await journal.claim(interaction_id, now):
                raise AssertionError("claimed twice")
            t0 = time.perf_counter()
            await journal.record(JournalEntry(interaction_id, now, raw, "deferred", 5))
            records.append(time.perf_counter() - t0)
            await journal.finish(interaction_id)

    start = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    if isinstance(journal, SqliteJournal):
        await journal.flush()  # the finishes written behind are part of the work
    return count / (time.perf_counter() - start), records


async def ack_round(
    sim: SimProcess, opener: Opener, count: int, rate: float, slow: float
) -> list[float]:
    """Acknowledgement latencies (s, simulator's clock) of `count` commands at `rate`/s."""
    journal = await opener()
    try:
        async with wired_relay(
            sim.api_base, sim.token, sim.main_base, forward_timeout=slow + 5, journal=journal
        ) as wired:
            answer = await sim.call("burst", count=count, rate=rate, mix="command")
            ids = answer["ids"]
            await sim.call("wait_acked", ids=ids, timeout=10)
            rows = (await sim.call("results", ids=ids))["rows"]
            await wired.relay.drain(slow + 10)  # every forward finished (and journaled out)
    finally:
        await journal.aclose()
    # One not acknowledged (the relay gave up at 3 s, an overloaded machine) counts as 3 s.
    return [3.0 if first is None else first - sent for _kind, sent, first, _ack in rows]


def ms(values: list[float], p: float) -> float:
    return percentile(values, p) * 1000


@asynccontextmanager
async def stores(redis_binary: str) -> AsyncIterator[dict[str, Opener]]:
    state = Path(tempfile.mkdtemp(prefix="journal-bench-"))
    try:
        async with redis_server(redis_binary) as url:
            rounds = iter(range(1_000_000))

            async def sqlite() -> Journal:
                return await SqliteJournal.open(state / f"round{next(rounds)}")

            async def redis() -> Journal:
                return await RedisJournal.open(url, f"bench{next(rounds)}:")

            async def memory() -> Journal:
                return MemoryJournal()

            yield {"memory": memory, "sqlite": sqlite, "redis": redis}
    finally:
        shutil.rmtree(state, ignore_errors=True)


async def main(args: argparse.Namespace) -> None:
    async with stores(args.redis_server) as openers:
        for name in ("memory", "sqlite", "redis"):
            journal = await openers[name]()
            try:
                rate, records = await throughput(journal, args.count, args.concurrency)
            finally:
                await journal.aclose()
            print(
                f"journal {name:6}: {rate:8.0f} interactions/s ({args.count} claim+record+finish,"
                f" {args.concurrency} in flight); record p50 {ms(records, 50):.2f} ms"
                f" p99 {ms(records, 99):.2f} ms"
            )
        if args.skip_acks:
            return
        latencies: dict[str, list[float]] = {name: [] for name in openers}
        round_p99: dict[str, list[float]] = {name: [] for name in openers}
        load_before = os.getloadavg()[0]
        async with sim_process(main_delay=args.slow) as sim:
            for _ in range(args.rounds):
                for name, opener in openers.items():
                    values = await ack_round(sim, opener, args.acks, args.rate, args.slow)
                    latencies[name] += values
                    round_p99[name].append(percentile(values, 99))
        print(
            f"ack latency, {args.rounds} interleaved rounds x {args.acks} commands at"
            f" {args.rate:.0f}/s, main app {args.slow:.1f} s, simulator in its own process"
            f" (load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} on"
            f" {os.cpu_count()} CPUs):"
        )
        base, base_p99 = latencies["memory"], statistics.median(round_p99["memory"])
        for name, values in latencies.items():
            median_p99 = statistics.median(round_p99[name])
            line = (
                f"  journal {name:6}: p50 {ms(values, 50):6.2f} ms  p99 {ms(values, 99):7.2f} ms"
                f"  (median of the rounds' p99 {median_p99 * 1000:6.2f} ms)"
            )
            if name != "memory":
                line += (
                    f"   vs memory: p50 {percentile(values, 50) / percentile(base, 50):.2f}x"
                    f" p99 {percentile(values, 99) / percentile(base, 99):.2f}x"
                    f" round-median p99 {median_p99 / base_p99:.2f}x (target <= 1.1x)"
                )
            print(line)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--acks", type=int, default=300)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--slow", type=float, default=2.0)
    parser.add_argument("--skip-acks", action="store_true", help="only the store throughput")
    parser.add_argument("--redis-server", default=shutil.which("redis-server") or "redis-server")
    asyncio.run(main(parser.parse_args()))
