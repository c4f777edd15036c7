"""Acknowledgement latency of the interaction relay vs a bare httpx POST, same loopback, same run.

Relay: the simulator writes INTERACTION_CREATE -> GatewayManager -> InteractionRelay ->
DiscordRest -> the simulator reads POST /interactions/{id}/{token}/callback (both instants on the
simulator's clock), at RATE interactions/s while the main app takes SLOW s per forward.
Peer: a bare `httpx.AsyncClient.post` from the relay's process to the same simulator route at
the same rate: from the call to the simulator reading the request.

By default the simulator and the stand-in main app run in a child process
(tests/support/harness/sim_process.py), so the figure is about the relay's process only;
`--in-process`
puts them in the relay's event loop, as the tests do (their CPU then counts against the relay).
`--burst` runs the issue's burst instead: COUNT (1,000) mixed interactions (commands, buttons,
cooldown clicks, modals) at RATE (1,000/s) while the main app takes SLOW (5) s.
`--respond` compares the two response modes in one run (child process): the defer path's ack
latency as above, then INTERACTION_RESPONSE=respond with a main app answering a type 4 in
ANSWER_MS (20) ms: dispatch -> the callback carrying that answer, against ANSWER_MS + the defer
path's ack latency (target: at most 2 ms more at p50).

    .venv/bin/python bench/relay_ack_bench.py [--count 500] [--rate 100] [--slow 2.0]
    .venv/bin/python bench/relay_ack_bench.py --burst [--in-process]
    .venv/bin/python bench/relay_ack_bench.py --respond [--count 500] [--rate 100]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from asgi_app.gc_tuning import tune_gc
from gateway.simulator import factory
from gateway.user_agent import USER_AGENT
from tests.support.harness.main_app import MainApp
from tests.support.harness.relay_stack import percentile, relay_stack, until, wired_relay
from tests.support.harness.sim_process import SimProcess, mixed, sim_process


async def paced(count: int, rate: float, one: Callable[[int], Coroutine[Any, Any, None]]) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    tasks = []
    for i in range(count):
        await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)


def schedstat(pid: int | str = "self") -> tuple[float, float]:
    """(CPU seconds, seconds spent runnable but waiting for a CPU) of a process (Linux)."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            cpu, wait, _slices = f.read().split()
    except OSError:
        return 0.0, 0.0
    return int(cpu) / 1e9, int(wait) / 1e9


def contention(before: dict[str, tuple[float, float]], pids: dict[str, int | str]) -> str:
    """CPU used and CPU waited for (the machine's other load) per process since `before`."""
    parts = []
    for name, pid in pids.items():
        cpu, wait = schedstat(pid)
        cpu0, wait0 = before[name]
        parts.append(
            f"{name} cpu {(cpu - cpu0) * 1000:.0f} ms, waited {(wait - wait0) * 1000:.0f} ms"
        )
    return "during the relay run: " + "; ".join(parts)


def ms(values: list[float], p: float) -> float:
    return percentile(values, p) * 1000


async def bare_posts(api_base: str, count: int, rate: float) -> list[tuple[str, float]]:
    """(path, call instant) of COUNT bare httpx POSTs at RATE/s."""
    calls: list[tuple[str, float]] = []
    async with httpx.AsyncClient() as client:
        headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json"}

        async def post(i: int) -> None:
            path = f"/interactions/{900_000 + i}/bench-token/callback"
            t0 = time.monotonic()
            await client.post(api_base + path, content=b'{"type":5}', headers=headers)
            calls.append((path, t0))

        await paced(count, rate, post)
    return calls


async def relayed(
    sim: SimProcess, count: int, rate: float, mix: str, **relay: Any
) -> tuple[dict[str, Any], list[list[Any]], str]:
    """COUNT interactions dispatched by the child process through a relay in this process:
    (the burst's answer, the simulator's rows, the CPU contention line)."""
    async with wired_relay(sim.api_base, sim.token, sim.main_base, **relay) as wired:
        tune_gc()  # as the server's start-up does (asgi_app/gc_tuning.py)
        pids: dict[str, int | str] = {"relay process": "self", "simulator": sim.proc.pid}
        before = {name: schedstat(pid) for name, pid in pids.items()}
        answer = await sim.call("burst", count=count, rate=rate, mix=mix)
        load = contention(before, pids)
        ids = answer["ids"]
        if not (await sim.call("wait_acked", ids=ids, timeout=30))["ok"]:
            raise SystemExit("some interactions were never acknowledged")
        rows = (await sim.call("results", ids=ids))["rows"]
        await wired.relay.drain(0)  # the slow forwards are not measured: cancelled
    return answer, rows, load


async def separate(count: int, rate: float, slow: float, burst: bool) -> None:
    async with sim_process(main_delay=slow) as sim:
        bare: list[float] = []
        if not burst:
            calls = await bare_posts(sim.api_base, count, rate)
            read = (await sim.call("read_at", paths=[p for p, _ in calls]))["at"]
            bare = [read[p] - t0 for p, t0 in calls]
        answer, rows, load = await relayed(sim, count, rate, _mix(burst), forward_timeout=slow + 5)
        report(count, rate, slow, answer["took"], rows, bare, "separate processes")
        print(load)


async def in_process(count: int, rate: float, slow: float, burst: bool) -> None:
    async with relay_stack(MainApp(delay=slow), forward_timeout=slow + 5) as stack:
        tune_gc()  # as the server's start-up does (asgi_app/gc_tuning.py)
        sim = stack.sim
        bare: list[float] = []
        if not burst:
            calls = await bare_posts(sim.api_base, count, rate)
            read = {r.path: r.at for r in sim.rest.requests}
            bare = [read[p] - t0 for p, t0 in calls]
        ids: list[str] = []
        before = {"one process": schedstat()}
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(count):
            await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
            payload = mixed(i) if burst else factory.command()
            ids.append(str((await stack.send(payload))["id"]))
        took = loop.time() - start
        load = contention(before, {"one process": "self"})
        records = [sim.interaction(i) for i in ids]
        await until(lambda: all(r is not None and r.callbacks for r in records), 30)
        rows = [
            [r.type, r.sent_at, r.callbacks[0].at, r.ack_type] for r in records if r is not None
        ]
        await stack.relay.drain(0)
    report(count, rate, slow, took, rows, bare, "one process")
    print(load)


ANSWER_MS = 20.0
ANSWER = b'{"type":4,"data":{"content":"Your picks: Pikachu, Pichu","flags":64}}'


async def _acks(
    count: int, rate: float, main_delay: float, main_body: bytes | None, **relay: Any
) -> tuple[list[float], list[int], str, list[float]]:
    """(dispatch -> first callback read, in s; the first callbacks' types; the contention; with
    a `main_body`, bare httpx POSTs to the main app at the same rate, in s, measured first)."""
    async with sim_process(main_delay=main_delay, main_body=main_body) as sim:
        bare: list[float] = []
        if main_body is not None:
            async with httpx.AsyncClient() as client:

                async def post(_i: int) -> None:
                    t0 = time.monotonic()
                    await client.post(sim.main_base + "/api/discord/interactions/command")
                    bare.append(time.monotonic() - t0)

                await paced(count, rate, post)
        _answer, rows, load = await relayed(
            sim, count, rate, "command", forward_timeout=main_delay + 5, **relay
        )
    lat = [first - sent for _kind, sent, first, _ack in rows]
    return lat, [ack for *_, ack in rows], load, bare


async def respond_vs_defer(count: int, rate: float, slow: float) -> None:
    defer, _, defer_load, _ = await _acks(count, rate, slow, None)
    answered, types, respond_load, bare = await _acks(
        count, rate, ANSWER_MS / 1000, ANSWER, response_mode="respond", response_window_ms=1500
    )
    if any(t != 4 for t in types):
        raise SystemExit(f"{sum(t != 4 for t in types)} first responses were not the answer")
    print(f"{count} commands at {rate:.0f}/s, child process")
    print(f"defer ack            : p50 {ms(defer, 50):7.3f} ms  p99 {ms(defer, 99):7.3f} ms")
    print(
        f"respond, app {ANSWER_MS:.0f} ms : p50 {ms(answered, 50):7.3f} ms"
        f"  p99 {ms(answered, 99):7.3f} ms  (dispatch -> callback carrying the answer)"
    )
    print(
        f"bare POST to the app : p50 {ms(bare, 50):7.3f} ms  p99 {ms(bare, 99):7.3f} ms"
        "  (httpx -> the stand-in main app's answer, same rate)"
    )
    extra = ms(answered, 50) - (ANSWER_MS + ms(defer, 50))
    print(f"respond p50 - ({ANSWER_MS:.0f} ms + defer p50) = {extra:+.2f} ms   (target: <= +2 ms)")
    print(f"defer run, {defer_load}\nrespond run, {respond_load}")


def _mix(burst: bool) -> str:
    return "mixed" if burst else "command"


def report(
    count: int,
    rate: float,
    slow: float,
    took: float,
    rows: list[list[Any]],
    bare: list[float],
    where: str,
) -> None:
    relay = [first - sent for _kind, sent, first, _ack in rows]
    late = sum(1 for x in relay if x > 3.0)
    print(
        f"{count} interactions at {rate:.0f}/s (dispatched in {took:.2f} s),"
        f" main app {slow:.1f} s per forward, {where}"
    )
    if bare:
        print(f"bare httpx POST : p50 {ms(bare, 50):7.3f} ms  p99 {ms(bare, 99):7.3f} ms")
    print(
        f"relay ack       : p50 {ms(relay, 50):7.3f} ms  p99 {ms(relay, 99):7.3f} ms"
        f"  max {max(relay) * 1000:7.3f} ms  later than 3 s: {late}"
    )
    by_type: dict[int, list[float]] = {}
    for (kind, *_), value in zip(rows, relay, strict=True):
        by_type.setdefault(kind, []).append(value)
    if len(by_type) > 1:
        names = {2: "command", 3: "component", 5: "modal"}
        print(
            "  by type: "
            + ", ".join(
                f"{names.get(k, k)} p50 {ms(v, 50):.2f} / p99 {ms(v, 99):.2f} ms"
                for k, v in sorted(by_type.items())
            )
        )
    if bare:
        print(
            f"ratio relay/bare: p50 {percentile(relay, 50) / percentile(bare, 50):.2f}x"
            f"  p99 {percentile(relay, 99) / percentile(bare, 99):.2f}x"
            "   (targets: p50 <= 2x, relay p99 < 10 ms)"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int)
    parser.add_argument("--rate", type=float)
    parser.add_argument("--slow", type=float)
    parser.add_argument("--burst", action="store_true", help="1,000 mixed at 1,000/s, 5 s app")
    parser.add_argument("--in-process", action="store_true", help="simulator in this loop")
    parser.add_argument("--respond", action="store_true", help="respond mode vs the defer path")
    args = parser.parse_args()
    count = args.count or (1000 if args.burst else 500)
    rate = args.rate or (1000.0 if args.burst else 100.0)
    slow = args.slow or (5.0 if args.burst else 2.0)
    if args.respond:
        asyncio.run(respond_vs_defer(count, rate, slow))
    else:
        run = in_process if args.in_process else separate
        asyncio.run(run(count, rate, slow, args.burst))
