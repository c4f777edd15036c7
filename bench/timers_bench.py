"""League timers at scale (issue 23): 100,000 pending, 10,000 due in the same second,
delivered to a main app (its own process) answering in 5 ms; and the CPU per fire from 1,000
to 100,000 pending.

1. Burst: PENDING timers in SQLite (a temporary STATE_DIR) through the engine, BURST of them
   with the same `fire_at` second; the rest due in an hour. Reported: from the due second to
   the last 2xx, the largest lag of a first attempt, CPU seconds. Target: all delivered within
   5 s.
2. CPU per fire, the whole path (schedule, store, signed HTTP delivery), FIRES fires due in
   the same second at each of 1,000 / 10,000 / 100,000 pending (the fires among them), in
   ROUNDS interleaved rounds (the median is reported). Target: within 1.5x from 1,000 to
   100,000.
3. The schedule alone (engine.tick, memory store, no delivery) per fire at 1,000 to 1,000,000
   pending, against the peer a draft bot usually has: a scan of every timer on each tick.

    .venv/bin/python bench/timers_bench.py [--pending 100000] [--burst 10000] [--fires 1000]
        [--rounds 3]

The deliveries go on the server's client (`HttpPoster`: httpx on aiohttp's pool,
gateway/rest/http_client.py).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

import httpx

from gateway.clock import Clocks
from gateway.delivery.sender import HttpPoster, SignedSender
from gateway.delivery.signatures import Ed25519Signer
from gateway.journal.timers import MemoryTimerStore
from gateway.journal.timers_sqlite import SqliteTimerStore
from gateway.timers.engine import TimerEngine
from gateway.timers.model import TimerSpec
from gateway.timers.service import TimerService
from tests.support.harness.server import free_port

TOKEN = "bench-token-0123456789abcdef0123456789"
ANSWER_DELAY = 0.005
CHUNK = 5000


async def main_app(scope: Any, receive: Any, send: Any) -> None:
    """The main app: reads the body, answers 200 after 5 ms."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await asyncio.sleep(ANSWER_DELAY)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def start_main_app() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "bench.timers_bench:main_app", "--port", str(port)]
    args += ["--log-level", "warning", "--no-access-log"]
    root = Path(__file__).resolve().parent.parent
    process = subprocess.Popen(args, cwd=root)
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url, timeout=0.5)
            return process, url
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the main app did not start")


def spec(timer_id: str, fire_at: int) -> TimerSpec:
    return TimerSpec(id=timer_id, digest=timer_id, fire_at=fire_at, payload={"n": timer_id})


async def fill(engine: TimerEngine, far: int, due: int, due_at: int) -> None:
    """`far` timers due in an hour, `due` at `due_at`, created CHUNK at a time."""
    specs = [spec(f"far:{i}", due_at + 3_600_000) for i in range(far)]
    specs += [spec(f"due:{i}", due_at) for i in range(due)]
    for start in range(0, len(specs), CHUNK):
        await asyncio.gather(*(engine.create(s) for s in specs[start : start + CHUNK]))


async def run_burst(url: str, pending: int, burst: int, lead: float = 3.0) -> dict[str, float]:
    """PENDING timers, BURST of them due in the same second; when each is answered."""
    with tempfile.TemporaryDirectory() as state_dir:
        store = await SqliteTimerStore.open(Path(state_dir))
        engine = TimerEngine(store)
        sender = SignedSender(HttpPoster.open(url), TOKEN, signers=(Ed25519Signer(),))
        service = TimerService(engine, sender, url + "/api/discord/timers")
        await service.start()
        created = time.perf_counter()
        # the due second: whole, far enough ahead for the filling to finish
        estimate = pending / 20_000 + lead
        due_at = (int(time.time() + estimate) + 1) * 1000
        await fill(engine, pending - burst, burst, due_at)
        fill_seconds = time.perf_counter() - created
        assert time.time() * 1000 < due_at, "filling took longer than planned: raise --lead"
        await asyncio.sleep(max(0.0, due_at / 1000 - time.time()))
        cpu = time.process_time()
        while service.stats.delivered < burst:
            await asyncio.sleep(0.001)
        done = time.time()
        cpu = time.process_time() - cpu
        lag = service.stats.lag_ms_max
        await service.stop()
        return {
            "fill_s": fill_seconds,
            "all_delivered_s": done - due_at / 1000,
            "first_attempt_lag_max_ms": float(lag),
            "cpu_s": cpu,
            "cpu_ms_per_fire": cpu / burst * 1000,
        }


class ScanPeer:
    """A draft bot's timers: a dict scanned on every tick for what is due."""

    def __init__(self) -> None:
        self.due: dict[str, int] = {}

    def tick(self, now: int) -> list[str]:
        fired = [i for i, at in self.due.items() if at <= now]
        for i in fired:
            del self.due[i]
        return fired


async def schedule_cost(pending: int, fires: int) -> tuple[float, float]:
    """(µs per fire of engine.tick, µs per fire of the scan peer), fires spread over
    `fires` ticks of one fire each (a pick clock running out now and then)."""
    clock = [1_900_000_000.0]
    engine = TimerEngine(MemoryTimerStore(), clocks=Clocks(wall=lambda: clock[0]))
    engine.attach(lambda deliveries: None, lambda: None)
    peer = ScanPeer()
    base = int(clock[0] * 1000)
    for start in range(0, pending, CHUNK):
        batch = range(start, min(pending, start + CHUNK))
        await asyncio.gather(*(engine.create(spec(f"t{i}", base + 1000 + i)) for i in batch))
    for i in range(pending):
        peer.due[f"t{i}"] = base + 1000 + i
    fires = min(fires, pending)
    started = time.process_time()
    for i in range(fires):
        clock[0] = (base + 1000 + i) / 1000
        await engine.tick()
    heap = (time.process_time() - started) / fires * 1e6
    started = time.process_time()
    peer_fires = min(fires, 200)  # the scan is slow: fewer ticks, same per-fire figure
    for i in range(peer_fires):
        peer.tick(base + 1000 + i)
    scan = (time.process_time() - started) / peer_fires * 1e6
    await engine.store.aclose()
    return heap, scan


async def run(args: argparse.Namespace) -> None:
    process, url = start_main_app()
    try:
        print(f"main app answers in {ANSWER_DELAY * 1000:.0f} ms")
        burst = await run_burst(url, args.pending, args.burst)
        print(
            f"burst: {args.pending:,} pending, {args.burst:,} due in the same second: "
            f"all delivered {burst['all_delivered_s']:.2f} s after the due second "
            f"(largest first-attempt lag {burst['first_attempt_lag_max_ms']:.0f} ms), "
            f"CPU {burst['cpu_s']:.2f} s = {burst['cpu_ms_per_fire']:.3f} ms per fire; "
            f"filled in {burst['fill_s']:.1f} s"
        )
        levels = (1_000, 10_000, 100_000)
        runs: dict[int, list[float]] = {pending: [] for pending in levels}
        for _ in range(args.rounds):  # interleaved, so the machine's load falls on each alike
            for pending in levels:
                result = await run_burst(url, pending, args.fires, lead=1.0)
                runs[pending].append(result["cpu_ms_per_fire"])
        per_fire = {pending: statistics.median(values) for pending, values in runs.items()}
        for pending in levels:
            shown = ", ".join(f"{x:.3f}" for x in runs[pending])
            print(
                f"whole path, {pending:>7,} pending, {args.fires:,} fires: "
                f"median {per_fire[pending]:.3f} ms CPU per fire ({shown})"
            )
        ratio = per_fire[100_000] / per_fire[1_000]
        print(f"whole path: 100,000 / 1,000 pending = {ratio:.2f}x (target <= 1.5x)")
    finally:
        process.terminate()
        process.wait()
    for pending in (1_000, 10_000, 100_000, 1_000_000):
        heap, scan = await schedule_cost(pending, 2_000)
        print(
            f"schedule alone, {pending:>9,} pending: heap {heap:7.1f} us per fire, "
            f"scan peer {scan:9.1f} us per fire ({scan / heap:,.0f}x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--fires", type=int, default=1_000)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
