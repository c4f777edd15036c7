"""Events to the main app: the server vs a forwarder on @discordjs/ws + fetch, same simulator,
alternating rounds.

Each run starts a fresh simulator + events main app process (tests/support/harness/events_sim.py:
the main app answers after `--main-delay`, 20 ms) and the forwarder in a process of its own:
the server (`uvicorn asgi_app:app`, production mode, EVENT_FORWARDS={"MESSAGE_CREATE": {}},
the SQLite journal in a temporary STATE_DIR) or the peer (bench/discordjs_events.mjs: each
event POSTed at once, signed, no batching, order, journal or retries). The simulator
dispatches `count` MESSAGE_CREATE over 100 guilds at `rate` per second. Per run: events/s
(from the first dispatch to the last event read by the main app), p50/p99 from the dispatch to
the main app reading it, POSTs, and the forwarder's CPU from the first dispatch to the last
event (/proc/<pid>/stat, every thread) per event.

Scenarios: `batch1` (1,000/s for 10 s, EVENTS_BATCH_MAX=1), `batch50` (5,000/s for 10 s,
EVENTS_BATCH_MAX=50, EVENTS_BATCH_WAIT_MS=50); the peer runs each at the same rate. After each
scenario the targets of issue 22 are checked on the medians: the server's CPU per event at most
0.5x (batch1) / 0.1x (batch50) the peer's (batch50 also against the peer's batch1 figure when
both ran), the rate sustained (every event delivered, the last one within the p99 limit of
the end of the dispatches: no backlog left growing) and the p99 under 250 ms / 500 ms.

    .venv/bin/python bench/events_bench.py [--rounds 2] [--scenario batch1 batch50]
        [--seconds 10] [--guilds 100] [--rate R] [--only server] [--profile FILE]

`--guilds 1 --rate 2000 --only server` measures one guild's ceiling (a lane is sequential).
`--profile FILE`: py-spy (200 Hz, raw samples kept in FILE) samples the server's process from
the first dispatch to the last event read, and its busiest functions are printed after each
server run (as bench/discordjs_peer_bench.py does).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from bench.discordjs_peer_bench import proc_cpu, rss_mib, start_profile, stop_profile
from tests.support.harness.app import AUTH_TOKEN, production_env
from tests.support.harness.json_lines import json_line_process
from tests.support.harness.process import VENV_BIN, ServerProcess, clean_env
from tests.support.harness.relay_stack import percentile
from tests.support.harness.server import free_port
from tests.support.harness.sim_process import SimProcess

ROOT = Path(__file__).resolve().parent.parent
EVENTS_PATH = "/api/discord/events"
GUILDS = 100
#: scenario -> (events per second, server settings)
SCENARIOS: dict[str, tuple[float, dict[str, str]]] = {
    "batch1": (1000.0, {"EVENTS_BATCH_MAX": "1"}),
    "batch50": (5000.0, {"EVENTS_BATCH_MAX": "50", "EVENTS_BATCH_WAIT_MS": "50"}),
}
#: scenario -> (most CPU per event against the peer's, p99 limit in ms): issue 22's targets
TARGETS: dict[str, tuple[float, float]] = {"batch1": (0.5, 250.0), "batch50": (0.1, 500.0)}
FORWARDERS = ("server", "discord.js")


#: the simulator and the events main app in a process of their own
EVENTS_SIM = "tests.support.harness.events_sim"


@dataclass
class Run:
    complete: bool  # every event dispatched reached the main app
    span: float  # s from the first dispatch to the last event read
    rate: float  # events/s delivered over that span
    p50: float
    p99: float
    posts: int
    cpu_per_event_us: float
    rss_peak: float


async def start_forwarder(
    name: str, sim: SimProcess, state_dir: Path, settings: dict[str, str]
) -> Any:
    if name == "server":
        env = production_env(
            sim,
            state_dir,
            EVENT_FORWARDS='{"MESSAGE_CREATE": {}}',
            EVENTS_URL=sim.main_base + EVENTS_PATH,
            LOG_LEVEL="WARNING",
            **settings,
        )
        port = free_port()
        args = [str(VENV_BIN / "uvicorn"), "asgi_app:app", "--host", "127.0.0.1"]
        args += ["--port", str(port), "--log-level", "warning"]
        server = ServerProcess(args, env=clean_env(**env), cwd=state_dir).start()
        await server.wait_http(f"http://127.0.0.1:{port}/livez")
        return server
    args = ["node", str(ROOT / "bench" / "discordjs_events.mjs"), sim.api_base, sim.token]
    args += [sim.main_base + EVENTS_PATH, AUTH_TOKEN]
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    if (await asyncio.wait_for(proc.stdout.readline(), 30)).strip() != b"ready":
        raise SystemExit("the discord.js forwarder did not start")
    return proc


async def stop_forwarder(forwarder: Any) -> None:
    if isinstance(forwarder, ServerProcess):
        await forwarder.terminate()
        return
    assert forwarder.stdin is not None
    forwarder.stdin.close()
    try:
        await asyncio.wait_for(forwarder.wait(), 10)
    except TimeoutError:
        forwarder.kill()
        await forwarder.wait()


async def one_run(
    name: str,
    scenario: str,
    seconds: float,
    main_delay: float,
    guilds: int,
    rate: float,
    profile: Path | None = None,
) -> Run:
    settings = SCENARIOS[scenario][1]
    count = int(rate * seconds)
    with tempfile.TemporaryDirectory() as state_dir:
        delay = str(main_delay)
        async with json_line_process(
            SimProcess, EVENTS_SIM, "--main-delay", delay, limit=1 << 26
        ) as sim:
            forwarder = await start_forwarder(name, sim, Path(state_dir), settings)
            if isinstance(forwarder, ServerProcess):
                assert forwarder.proc is not None
                pid = forwarder.proc.pid
            else:
                pid = forwarder.pid
            spy = None
            try:
                assert (await sim.call("ready"))["ok"], "no client identified"
                if profile is not None and name == "server":
                    spy = await start_profile(pid, profile)
                await asyncio.sleep(0.5)
                before = proc_cpu(pid)[0]
                await sim.call("run", count=count, rate=rate, guilds=guilds)
                done = await sim.call("wait", count=count, timeout=120)
                after = proc_cpu(pid)[0]
                peak, _ = rss_mib(pid)
                stats = await sim.call("stats")
                if spy is not None and profile is not None:
                    print(f"py-spy over the server's {scenario} run:")
                    await stop_profile(spy, profile)
                    spy = None
            finally:
                if spy is not None:
                    spy.kill()
                    await spy.wait()
                await stop_forwarder(forwarder)
    if not done["ok"]:
        print(f"  {name}: only {stats['events']} of {count} events arrived", file=sys.stderr)
    latencies = sorted(stats["latencies"])
    span = max(done["last"] - stats["first"], 1e-9)
    return Run(
        complete=bool(done["ok"]),
        span=span,
        rate=stats["events"] / span,
        p50=percentile(latencies, 50) * 1000,
        p99=percentile(latencies, 99) * 1000,
        posts=stats["posts"],
        cpu_per_event_us=(after - before) / max(stats["events"], 1) * 1e6,
        rss_peak=peak,
    )


def show(name: str, run: Run) -> str:
    return (
        f"  {name:>10}: {run.rate:7.0f} events/s  p50 {run.p50:7.1f} ms  p99 {run.p99:7.1f} ms"
        f"  POSTs {run.posts:6d}  CPU {run.cpu_per_event_us:6.1f} us/event"
        f"  RSS peak {run.rss_peak:5.0f} MiB"
    )


def met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def check_targets(
    scenario: str, rate: float, seconds: float, ours: list[Run], peer_cpu: dict[str, float]
) -> None:
    """Issue 22's targets for `scenario` on the medians of the server's runs."""
    most, p99_limit = TARGETS[scenario]
    cpu = statistics.median(r.cpu_per_event_us for r in ours)
    for against, peer in peer_cpu.items():
        print(
            f"  target CPU per event <= {most}x the peer's ({against}): {cpu:.1f} / "
            f"{peer:.1f} us = {cpu / peer:.2f}x, {met(cpu <= most * peer)}"
        )
    delivered = statistics.median(r.rate for r in ours)
    behind = max(r.span for r in ours) - seconds  # the last event, after the last dispatch
    sustained = all(r.complete for r in ours) and behind < p99_limit / 1000
    print(
        f"  target {rate:.0f} events/s sustained: {delivered:.0f}/s delivered, the last event "
        f"{behind * 1000:.0f} ms after the last dispatch, {met(sustained)}"
    )
    p99 = statistics.median(r.p99 for r in ours)
    print(f"  target p99 under {p99_limit:.0f} ms: {p99:.1f} ms, {met(p99 < p99_limit)}")


async def main(args: argparse.Namespace) -> None:
    seconds, main_delay, guilds = args.seconds, args.main_delay, args.guilds
    forwarders = tuple(args.only or FORWARDERS)
    peer_medians: dict[str, float] = {}  # scenario -> the peer's median CPU per event
    for scenario in args.scenario:
        rate, settings = SCENARIOS[scenario]
        rate = args.rate or rate
        print(
            f"{scenario}: {rate:.0f} events/s for {seconds:.0f} s over {guilds} guilds, "
            f"main app {main_delay * 1000:.0f} ms; server {settings}"
        )
        runs: dict[str, list[Run]] = {name: [] for name in forwarders}
        for n in range(args.rounds):
            order = forwarders if n % 2 == 0 else forwarders[::-1]
            for name in order:
                run = await one_run(name, scenario, seconds, main_delay, guilds, rate, args.profile)
                runs[name].append(run)
                print(show(name, run), flush=True)
        if len(runs) < 2:
            continue
        ours, peer = runs["server"], runs["discord.js"]
        peer_medians[scenario] = statistics.median(r.cpu_per_event_us for r in peer)
        against = {f"{scenario}, same rate": peer_medians[scenario]}
        if scenario != "batch1" and "batch1" in peer_medians:
            against["batch1, unbatched at 1,000/s"] = peer_medians["batch1"]
        if guilds == GUILDS and args.rate is None:
            check_targets(scenario, rate, seconds, ours, against)
        else:  # not the targets' conditions: the ratio alone
            cpu = statistics.median(r.cpu_per_event_us for r in ours)
            print(f"  CPU per event: {cpu / peer_medians[scenario]:.2f}x the peer's")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--scenario", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--main-delay", type=float, default=0.02)
    parser.add_argument("--guilds", type=int, default=GUILDS)
    parser.add_argument("--rate", type=float, default=None, help="instead of the scenario's")
    parser.add_argument("--only", nargs="+", choices=FORWARDERS, default=None)
    parser.add_argument("--profile", type=Path, default=None, help="py-spy the server")
    asyncio.run(main(parser.parse_args()))
