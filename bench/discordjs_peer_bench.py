"""The server's interaction relay vs a discord.js relay, same simulator, alternating rounds.

Both relays run in a process of their own against a fresh simulator + stand-in main app
process (tests/support/harness/sim_process.py) per run: the server's
(tests/support/harness/relay_process.py,
the relay as asgi_app wires it, on uvloop) and the discord.js peer (bench/discordjs_relay.mjs:
@discordjs/ws + @discordjs/rest, forwards on Node's fetch). Scenarios, as in
bench/relay_ack_bench.py: `steady`, 500 slash commands at 100/s with a main app taking 2 s per
forward; `burst`, 1,000 mixed interactions in one second with a 5 s main app. Per run: ack
p50/p99 (simulator's instants: dispatch frame written -> callback read), the time from the
first dispatch to the last forward read by the main app, CPU seconds of each process from the
first dispatch to the last forward (/proc/<pid>/stat, every thread), the time each waited for
a CPU (sum of its threads' schedstat: the shared machine's load), and the relay's RSS (peak
and at the end).

    .venv/bin/python bench/discordjs_peer_bench.py [--rounds 2] [--scenario steady|burst]
        [--profile [--profile-rate 200]]

`--profile`: py-spy (`record --format raw`, 200 Hz, root or ptrace allowed) samples the
server's relay process through each of its runs, from the first dispatch to the last forward;
its busiest functions are printed after the run (own = top frame, total = anywhere on the
stack), then the samples grouped by where their top frame is (aiohttp, httpx, gateway/...);
py-spy leaves out the samples of a thread waiting in a system call (epoll: the loop idle), so
each sample is CPU work. uvloop's own C code shows as `Runner.run`. The raw samples
stay in the temporary directory (`discordjs_peer_bench.<pid>.pyspy`, the last run's).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from bench.http_profile import summarize
from tests.support.harness.relay_stack import AUTH, FORWARD_PATH, percentile
from tests.support.harness.sim_process import SimProcess, sim_process

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {"steady": (500, 100.0, 2.0, "command"), "burst": (1000, 1000.0, 5.0, "mixed")}
RELAYS = ("server", "discord.js")
PROFILE_RATE = [200]  # samples per second (--profile-rate)


def proc_cpu(pid: int) -> tuple[float, float]:
    """(CPU seconds of every thread, seconds its threads waited for a CPU) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    wait = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            wait += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError):
            pass
    return cpu, wait / 1e9


def rss_mib(pid: int) -> tuple[float, float]:
    """(peak RSS, RSS now) in MiB."""
    status = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(status["VmHWM"].split()[0]) / 1024, int(status["VmRSS"].split()[0]) / 1024


@dataclass
class Run:
    ack_p50: float
    ack_p99: float
    late: int
    forwarded: int
    last_forward: float
    relay_cpu: float
    relay_wait: float
    sim_cpu: float
    sim_wait: float
    rss_peak: float
    rss_end: float


async def start_relay(
    name: str, sim: SimProcess, slow: float, log: Path
) -> asyncio.subprocess.Process:
    forward_base = sim.main_base + FORWARD_PATH
    if name == "server":
        args = [
            sys.executable,
            "-m",
            "tests.support.harness.relay_process",
            sim.api_base,
            sim.token,
        ]
        args += [sim.main_base, "--forward-timeout", str(slow + 5)]
    else:
        args = ["node", str(ROOT / "bench" / "discordjs_relay.mjs"), sim.api_base, sim.token]
        args += [forward_base, AUTH]
    with log.open("wb") as errors:  # its log lines (the shutdown cuts forwards short)
        proc = await asyncio.create_subprocess_exec(
            *args,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=errors,
        )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    if line.strip() != b"ready":
        raise SystemExit(f"the {name} relay did not start:\n{log.read_text()[-2000:]}")
    return proc


async def start_profile(pid: int, out: Path) -> asyncio.subprocess.Process:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    args = [spy, "record", "--format", "raw", "--rate", str(PROFILE_RATE[0]), "--nonblocking"]
    args += ["-o", str(out), "--pid", str(pid)]
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
    )
    await asyncio.sleep(1.0)  # attached before the first dispatch
    return proc


#: Where a sample's top frame is, by the first of these its file path contains.
PLACES = (
    ("aiohttp: new connections", ("aiohappyeyeballs", "aiohttp/connector.py", "(socket.py:")),
    ("aiohttp: requests and answers", ("aiohttp/",)),
    ("httpx and the httpx-aiohttp transport", ("httpx_aiohttp/", "httpx/")),
    ("gateway/rest (DiscordRest, OriginClient)", ("gateway/rest/",)),
    ("gateway/interactions and the journal", ("gateway/interactions/", "gateway/journal/")),
    ("gateway frames (gateway/connection, websockets)", ("gateway/connection/", "websockets/")),
    ("asyncio (timeouts, tasks, locks)", ("asyncio/",)),
)


def by_place(raw: str) -> None:
    """The samples by where their top frame is (uvloop's own C code shows as Runner.run)."""
    places: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        top = stack.rsplit(";", 1)[-1]
        if top.startswith("Runner.run "):
            place = "uvloop's C code (Runner.run)"
        else:
            found = (name for name, parts in PLACES if any(part in top for part in parts))
            place = next(found, "other")
        places[place] += int(count)
    total = sum(places.values()) or 1
    print("-- by the top frame's place --")
    for place, n in places.most_common():
        print(f"{n / total:6.1%}  {place}")


async def stop_profile(spy: asyncio.subprocess.Process, out: Path) -> None:
    spy.send_signal(signal.SIGINT)  # py-spy writes its samples and exits
    await asyncio.wait_for(spy.wait(), 30)
    raw = out.read_text()
    summarize(raw, 20)
    by_place(raw)


async def one_run(name: str, scenario: str, log: Path, profile: Path | None = None) -> Run:
    count, rate, slow, mix = SCENARIOS[scenario]
    async with sim_process(main_delay=slow) as sim:
        relay = await start_relay(name, sim, slow, log)
        spy = None
        if profile is not None and name == "server":
            spy = await start_profile(relay.pid, profile)
        try:
            pids = {"relay": relay.pid, "sim": sim.proc.pid}
            before = {k: proc_cpu(pid) for k, pid in pids.items()}
            answer = await sim.call("burst", count=count, rate=rate, mix=mix)
            ids = answer["ids"]
            if not (await sim.call("wait_acked", ids=ids, timeout=30))["ok"]:
                raise SystemExit(f"{name}: some interactions were never acknowledged")
            rows = (await sim.call("results", ids=ids))["rows"]
            # Deferred ones are forwarded; not the cooldown replies (4), nor those whose
            # acknowledgement came too late (refused by the simulator: never acked).
            forwarded = sum(1 for *_, ack in rows if ack in (5, 6))
            deadline = time.monotonic() + 180
            while (await sim.call("main"))["requests"] < forwarded:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{name}: not every interaction was forwarded in 180 s")
                await asyncio.sleep(0.05)
            after = {k: proc_cpu(pid) for k, pid in pids.items()}
            peak, end = rss_mib(relay.pid)
            arrivals = (await sim.call("main_times"))["at"]
            if spy is not None and profile is not None:
                print(f"py-spy over the server relay's {scenario} run:")
                await stop_profile(spy, profile)
                spy = None
        finally:
            if spy is not None:
                spy.kill()
            assert relay.stdin is not None
            relay.stdin.close()
            try:
                await asyncio.wait_for(relay.wait(), 30)
            except TimeoutError:
                relay.kill()
                await relay.wait()
    acks = [first - sent for _kind, sent, first, _ack in rows]
    late = sum(1 for ack in acks if ack > 3.0)
    start = min(sent for _kind, sent, _first, _ack in rows)
    return Run(
        ack_p50=percentile(acks, 50) * 1000,
        ack_p99=percentile(acks, 99) * 1000,
        late=late,
        forwarded=len(arrivals),
        last_forward=max(arrivals) - start,
        relay_cpu=after["relay"][0] - before["relay"][0],
        relay_wait=after["relay"][1] - before["relay"][1],
        sim_cpu=after["sim"][0] - before["sim"][0],
        sim_wait=after["sim"][1] - before["sim"][1],
        rss_peak=peak,
        rss_end=end,
    )


def show(name: str, run: Run) -> str:
    return (
        f"{name:<10} ack p50 {run.ack_p50:7.2f} ms  p99 {run.ack_p99:7.2f} ms"
        f" (later than 3 s: {run.late})  {run.forwarded} forwarded, the last after "
        f"{run.last_forward:6.2f} s  cpu relay {run.relay_cpu:5.2f} s (waited "
        f"{run.relay_wait:4.2f}), simulator {run.sim_cpu:5.2f} s (waited {run.sim_wait:4.2f})"
        f"  RSS peak {run.rss_peak:5.1f} MiB, end {run.rss_end:5.1f} MiB"
    )


async def main(rounds: int, scenarios: list[str], profile: bool = False) -> None:
    log = Path(tempfile.gettempdir()) / f"discordjs_peer_bench.{os.getpid()}.log"
    spied = log.with_suffix(".pyspy") if profile else None
    for scenario in scenarios:
        count, rate, slow, mix = SCENARIOS[scenario]
        print(f"== {scenario}: {count} {mix} at {rate:.0f}/s, main app {slow:g} s per forward")
        runs: dict[str, list[Run]] = {name: [] for name in RELAYS}
        for round_no in range(rounds):
            order = RELAYS if round_no % 2 == 0 else RELAYS[::-1]
            for name in order:
                runs[name].append(await one_run(name, scenario, log, spied))
                print(f"round {round_no + 1}: {show(name, runs[name][-1])}")
        ours, peer = runs["server"], runs["discord.js"]

        def ratio(field: str, ours: list[Run] = ours, peer: list[Run] = peer) -> float:
            pairs: list[float] = [
                getattr(a, field) / getattr(b, field) for a, b in zip(ours, peer, strict=True)
            ]
            return statistics.median(pairs)

        print(
            f"server / discord.js (median of per-round ratios): ack p50 {ratio('ack_p50'):.2f}x,"
            f" p99 {ratio('ack_p99'):.2f}x, last forward {ratio('last_forward'):.2f}x,"
            f" relay CPU {ratio('relay_cpu'):.2f}x, RSS peak {ratio('rss_peak'):.2f}x,"
            f" end {ratio('rss_end'):.2f}x"
        )
    log.unlink(missing_ok=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), action="append")
    parser.add_argument("--profile", action="store_true", help="py-spy over the server relay")
    parser.add_argument("--profile-rate", type=int, default=200, help="py-spy samples per s")
    args = parser.parse_args()
    PROFILE_RATE[0] = args.profile_rate
    asyncio.run(main(args.rounds, args.scenario or ["steady", "burst"], args.profile))
