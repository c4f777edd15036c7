"""The timers in a real server process with a real clock: a batch of timers due over the next
seconds, SIGKILL in the middle, a restart on the same store; a recording main app.

The SIGKILL is sent while no delivery is being answered: between the main app's 2xx and the
store's commit of "delivered" there is an unavoidable instant (any at-least-once sender has
it; the main app dedupes on X-Delivery-Id), and this test is about everything else.
"""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

from gateway.delivery.signatures import verify_signature
from gateway.simulator import DiscordSimulator
from tests.support.harness.app import AUTH_TOKEN, production_env
from tests.support.harness.process import VENV_BIN, ServerProcess, clean_env
from tests.support.harness.server import free_port, read_request, serve


@dataclass
class Received:
    delivery_id: str
    attempt: int
    status: int
    body: dict[str, Any]
    signed: bool


@dataclass
class TimerMainApp:
    """Answers 200 after `delay` s; the first attempt of the timers in `fail_first` gets 503."""

    delay: float = 0.01
    fail_first: set[str] = field(default_factory=set)
    received: list[Received] = field(default_factory=list)
    in_flight: int = 0
    last_answer: float = 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raw, headers = await read_request(scope, receive)
        self.in_flight += 1
        try:
            body = orjson.loads(raw)
            attempt = int(headers["x-delivery-attempt"])
            status = 503 if attempt == 1 and body["id"] in self.fail_first else 200
            signed = verify_signature(
                AUTH_TOKEN, headers["x-signature-timestamp"], raw, headers["x-signature-sha256"]
            )
            await asyncio.sleep(self.delay)
            record = Received(headers["x-delivery-id"], attempt, status, body, signed)
            self.received.append(record)
            await send({"type": "http.response.start", "status": status, "headers": []})
            await send({"type": "http.response.body", "body": b"{}"})
        finally:
            self.in_flight -= 1
            self.last_answer = time.monotonic()

    def fires_ok(self) -> dict[str, list[Received]]:
        found: dict[str, list[Received]] = {}
        for r in self.received:
            if r.status == 200 and r.body["kind"] == "fire":
                found.setdefault(r.body["id"], []).append(r)
        return found

    async def quiet_moment(self) -> None:
        """Wait until no delivery is being answered and none was for 30 ms."""
        while self.in_flight or time.monotonic() - self.last_answer < 0.03:
            await asyncio.sleep(0.002)


def server(sim: DiscordSimulator, state_dir: Path, port: int, **env: str) -> ServerProcess:
    environment = clean_env(
        **production_env(sim, state_dir, RATE_LIMIT_PER_MINUTE="1000000", **env)
    )
    args = [str(VENV_BIN / "uvicorn"), "asgi_app:app", "--host", "127.0.0.1"]
    args += ["--port", str(port), "--log-level", "warning"]
    return ServerProcess(args, env=environment, cwd=state_dir).start()


@dataclass
class KillResult:
    timers: dict[str, int]  # id -> due_at
    killed_at: int  # unix ms
    restarted_at: int  # unix ms: the second process was started
    ready_at: int  # unix ms: the second process answered
    main: TimerMainApp
    output: str


async def kill_and_restart(
    state_dir: Path,
    *,
    count: int = 50,
    first_due: float = 1.0,
    span: float = 13.0,
    kill_after: float = 3.0,
    outage: float = 6.0,
    **env: str,
) -> KillResult:
    """`count` timers due from `first_due` s to `first_due + span` s from now (one fire
    each, every 10th with a reminder, every 7th failing its first attempt), SIGKILL after
    `kill_after` s, a second process `outage` s later; returns once every fire has had a 2xx
    (or 30 s passed)."""
    ids = [f"restart:{i:03d}" for i in range(count)]
    main = TimerMainApp(fail_first={i for n, i in enumerate(ids) if n % 7 == 3})
    async with DiscordSimulator(heartbeat_interval_ms=1000) as sim, serve(main) as main_url:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        options = dict(env, TIMERS_URL=f"{main_url}/api/discord/timers")
        first = server(sim, state_dir, port, **options)
        try:
            await first.wait_http(url + "/livez")
            async with httpx.AsyncClient(
                base_url=url, headers={"Authorization": AUTH_TOKEN}, timeout=10
            ) as http:
                start = time.time()
                timers: dict[str, int] = {}
                for n, timer_id in enumerate(ids):
                    fire_at = int((start + first_due + span * n / (count - 1)) * 1000)
                    body: dict[str, Any] = {"id": timer_id, "fire_at": fire_at}
                    if n % 10 == 0:
                        body["reminders_ms"] = [300]
                    answer = await http.post("/timers", json=body)
                    assert answer.status_code == 201, answer.text
                    timers[timer_id] = answer.json()["due_at"]
            await asyncio.sleep(max(0.0, start + kill_after - time.time()))
            await main.quiet_moment()
            await first.terminate(signal.SIGKILL)
            killed_at = int(time.time() * 1000)
        finally:
            first.stop()
        await asyncio.sleep(outage)
        restarted_at = int(time.time() * 1000)
        second = server(sim, state_dir, port, **options)
        try:
            await second.wait_http(url + "/livez")
            ready_at = int(time.time() * 1000)
            deadline = time.monotonic() + 30
            while len(main.fires_ok()) < count and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # anything that would come twice comes now
            await main.quiet_moment()
        finally:
            await second.terminate(signal.SIGTERM)
        output = first.output + second.output
        return KillResult(timers, killed_at, restarted_at, ready_at, main, output)
