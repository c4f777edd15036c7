"""SIGKILL while events flow: a real server process (uvicorn, production mode, STATE_DIR's
SQLite journal or Redis) killed every `kill_every` seconds and started again at once on the
same STATE_DIR, while the simulator (in this process) dispatches `rate` MESSAGE_CREATE per
second over `guilds` guilds and the main app (in this process too) answers after `main_delay`.

What must hold (issue 22, "Shows it works"), checked by `check()`:
- every dispatched event reached the main app (a 2xx) at least once;
- always with the same id (one id per dispatch);
- a duplicate only where a delivery was cut by a kill: the main app's 2xx for the earlier copy
  was sent shortly before a kill (before the server could journal it as delivered);
- per guild, the first deliveries in the order Discord sent them.

The test (tests/events/test_sigkill.py) runs it for ~30 s; `bench/events_kill.py` runs
the long form (3 minutes, kills every 10-30 s).
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from gateway.delivery.signatures import verify_signature
from gateway.simulator import DiscordSimulator, NoSessionError
from tests.support.harness.app import AUTH_TOKEN, production_env
from tests.support.harness.process import VENV_BIN, ServerProcess, clean_env
from tests.support.harness.server import free_port, read_request, serve

ALL_INTENTS = (1 << 26) - 1
CHANNEL = "1100000000000000002"
#: A duplicate counts as cut by a kill when the earlier copy reached the main app before the
#: kill and its 2xx went out after it, or at most this long before it (the server then had
#: to store it as delivered).
CUT_WINDOW = 1.5


@dataclass
class Copy:
    event_id: str
    guild: str
    content: str
    arrived_at: float  # monotonic: when the request reached the main app
    answered_at: float  # monotonic: when the main app sent its 2xx


@dataclass
class KillMainApp:
    delay: float = 0.02
    copies: list[Copy] = field(default_factory=list)
    unsigned: int = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raw, headers = await read_request(scope, receive)
        arrived = time.monotonic()
        stamp = headers.get("x-signature-timestamp", "")
        if not verify_signature(AUTH_TOKEN, stamp, raw, headers.get("x-signature-sha256", "")):
            self.unsigned += 1
        await asyncio.sleep(self.delay)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})
        now = time.monotonic()
        for event in orjson.loads(raw)["events"]:
            data = event["data"]
            copy = Copy(event["id"], event["guild_id"], data["content"], arrived, now)
            self.copies.append(copy)


@dataclass
class KillResult:
    dispatched: dict[str, list[str]]  # guild -> contents in dispatch order
    kills: list[float]  # monotonic
    main: KillMainApp
    resumes: int
    identifies: int
    output: str = ""
    problems: list[str] = field(default_factory=list)
    duplicates: int = 0

    @property
    def total(self) -> int:
        return sum(len(c) for c in self.dispatched.values())


def start_server(
    sim: DiscordSimulator, state_dir: Path, port: int, main_url: str, env: dict[str, str]
) -> ServerProcess:
    options = {
        "EVENT_FORWARDS": '{"MESSAGE_CREATE": {}}',
        "EVENTS_URL": main_url + "/api/discord/events",
        "GATEWAY_INTENTS": str(ALL_INTENTS),
        "RATE_LIMIT_PER_MINUTE": "1000000",
        **env,
    }
    environment = clean_env(**production_env(sim, state_dir, **options))
    args = [str(VENV_BIN / "uvicorn"), "asgi_app:app", "--host", "127.0.0.1"]
    args += ["--port", str(port), "--log-level", "warning"]
    return ServerProcess(args, env=environment, cwd=state_dir).start()


async def run(
    state_dir: Path,
    *,
    duration: float = 30.0,
    kill_every: tuple[float, float] = (10.0, 10.0),
    rate: float = 50.0,
    guilds: int = 10,
    main_delay: float = 0.02,
    drain_timeout: float = 60.0,
    seed: int = 0,
    env: dict[str, str] | None = None,
) -> KillResult:
    """`env`: more server settings (REDIS_URL for the journal in Redis)."""
    env = env or {}
    rng = random.Random(seed)
    guild_ids = [str((n + 1) << 22) for n in range(guilds)]
    main = KillMainApp(delay=main_delay)
    dispatched: dict[str, list[str]] = {g: [] for g in guild_ids}
    kills: list[float] = []
    outputs: list[str] = []
    sim = DiscordSimulator(heartbeat_interval_ms=1000, allowed_privileged_intents=ALL_INTENTS)
    async with sim, serve(main) as main_url:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(sim, state_dir, port, main_url, env)
        try:
            await server.wait_http(url + "/livez")
            await sim.wait_ready(timeout=30)
            start = time.monotonic()
            next_kill = start + rng.uniform(*kill_every)
            n = 0
            while (now := time.monotonic()) < start + duration:
                if now >= next_kill:
                    await server.terminate(signal.SIGKILL)
                    kills.append(time.monotonic())
                    outputs.append(server.output)
                    server = start_server(sim, state_dir, port, main_url, env)
                    next_kill = time.monotonic() + rng.uniform(*kill_every)
                due = start + n / rate
                if due > now:
                    await asyncio.sleep(due - now)
                guild = guild_ids[n % guilds]
                data = sim.guild_events.message(guild, CHANNEL, str(n))
                try:
                    await sim.dispatch("MESSAGE_CREATE", data)
                except NoSessionError:  # never expected: each restart resumes
                    raise AssertionError("the session ended: a restart identified") from None
                dispatched[guild].append(str(n))
                n += 1
            total = n
            deadline = time.monotonic() + drain_timeout
            while time.monotonic() < deadline:
                if len({c.content for c in main.copies}) >= total:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # a copy that would come twice comes now
        finally:
            try:
                await server.terminate(signal.SIGTERM)
            except AssertionError:
                pass
            outputs.append(server.output)
        result = KillResult(
            dispatched, kills, main, len(sim.resumes), len(sim.identifies), "\n".join(outputs)
        )
    check(result)
    return result


def cut(copy: Copy, kill: float) -> bool:
    """The kill may have cut this delivery: it was under way, or just answered."""
    return copy.arrived_at <= kill and copy.answered_at >= kill - CUT_WINDOW


def check(result: KillResult) -> None:
    """Fill `result.problems` (empty: everything held) and `result.duplicates`."""
    problems = result.problems
    main = result.main
    ids: defaultdict[str, set[str]] = defaultdict(set)
    copies: defaultdict[str, list[Copy]] = defaultdict(list)
    for copy in main.copies:
        ids[copy.content].add(copy.event_id)
        copies[copy.content].append(copy)
    missing = [c for g in result.dispatched.values() for c in g if c not in copies]
    if missing:
        problems.append(f"{len(missing)} events never delivered, e.g. {missing[:5]}")
    other_ids = [c for c, found in ids.items() if len(found) > 1]
    if other_ids:
        problems.append(f"{len(other_ids)} events delivered with another id: {other_ids[:5]}")
    unexplained = []
    for content, found in copies.items():
        for earlier in found[:-1]:
            result.duplicates += 1
            if not any(cut(earlier, kill) for kill in result.kills):
                unexplained.append(content)
    if unexplained:
        problems.append(f"{len(unexplained)} duplicates not cut by a kill: {unexplained[:5]}")
    for guild, sent in result.dispatched.items():
        firsts: list[str] = []
        seen: set[str] = set()
        for copy in main.copies:
            if copy.guild == guild and copy.content not in seen:
                seen.add(copy.content)
                firsts.append(copy.content)
        if firsts != [c for c in sent if c in seen]:
            problems.append(f"guild {guild}: delivered out of order")
    if main.unsigned:
        problems.append(f"{main.unsigned} batches not signed")
    if result.identifies != 1:
        problems.append(f"{result.identifies} IDENTIFYs: a restart did not resume")


def summary(result: KillResult) -> str:
    return (
        f"{result.total} events dispatched, {len(result.kills)} SIGKILLs,"
        f" {len(result.main.copies)} deliveries, {result.duplicates} duplicates (cut by a kill),"
        f" {result.resumes} resumes, {result.identifies} identify;"
        f" problems: {result.problems or 'none'}"
    )
