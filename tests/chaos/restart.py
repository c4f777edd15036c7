"""Restart safety: SIGTERM to the production server (gunicorn, gunicorn.conf.py) in the middle
of a burst of interactions and overlay POSTs, then a second start on the same STATE_DIR.

What must hold (issue 7 item 6): every POST /overlay that got 200 is in the state after the
restart (the last one per overlay wins) and reaches a client that connects; every interaction
the simulator saw acknowledged either reached the main app (an attempt it accepted) or shows
the user the error message (nothing half done in silence); nothing is forwarded twice; the
second process RESUMEs the saved session instead of identifying.
"""

from __future__ import annotations

import asyncio
import random
import signal
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gateway.simulator import DiscordSimulator, NoSessionError, factory
from tests.support.campaigns.chaos.audit import error_shown
from tests.support.campaigns.chaos.overlays import OverlayFleet, overlay_state
from tests.support.harness.app import AUTH_TOKEN, production_env
from tests.support.harness.process import ROOT, VENV_BIN, ServerProcess, clean_env
from tests.support.harness.server import free_port, serve

ERROR_MESSAGE = "Restart: the draft app could not answer, please try again."


class SlowMainApp:
    """The main app during a restart: answers 200 after `delay`; `slow_503_rate` of the
    attempts answer 503 after `slow_503_delay` (an overloaded app), `error_rate` answer 500."""

    def __init__(
        self,
        *,
        delay: float = 0.2,
        error_rate: float = 0.1,
        slow_503_rate: float = 0.0,
        slow_503_delay: float = 2.0,
        seed: int = 0,
    ) -> None:
        self.delay = delay
        self.error_rate = error_rate
        self.slow_503_rate = slow_503_rate
        self.slow_503_delay = slow_503_delay
        self._rng = random.Random(seed)
        self.attempts: defaultdict[str, list[int]] = defaultdict(list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while (await receive()).get("more_body"):
            pass
        interaction_id = dict(scope["headers"]).get(b"x-interaction-id", b"?").decode()
        roll = self._rng.random()
        if roll < self.slow_503_rate:
            status, delay = 503, self.slow_503_delay
        elif roll < self.slow_503_rate + self.error_rate:
            status, delay = 500, 0.0
        else:
            status, delay = 200, self.delay
        # Recorded when the request arrived: an accepted (200) request is the main app's to
        # finish (it edits the response itself), even when the answer never reaches the relay.
        self.attempts[interaction_id].append(status)
        await asyncio.sleep(delay)
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    def accepted(self, interaction_id: str) -> int:
        return self.attempts.get(interaction_id, []).count(200)


def gunicorn(sim: DiscordSimulator, state_dir: Path, port: int, forward_url: str) -> ServerProcess:
    env = clean_env(
        **production_env(
            sim,
            state_dir,
            LOG_FORMAT="json",
            FORWARD_URL=forward_url,
            RATE_LIMIT_PER_MINUTE="1000000",
            INTERACTION_ERROR_MESSAGE=ERROR_MESSAGE,
        ),
        PORT=str(port),
        HOST="127.0.0.1",
        GRACEFUL_TIMEOUT="30",
    )
    args = [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "asgi_app:app"]
    return ServerProcess(args, env=env, cwd=state_dir).start()


@dataclass
class RestartResult:
    exit_code: int
    close_code: int | None
    identifies_before: int
    resumes_before: int
    identifies_after: int
    resumes_after: int
    interactions: list[dict[str, Any]] = field(default_factory=list)
    acked: int = 0
    silent: list[str] = field(default_factory=list)  # acknowledged, neither forwarded nor told
    forwarded_twice: list[str] = field(default_factory=list)
    error_shown: int = 0
    overlay_expected: dict[str, dict[str, Any]] = field(default_factory=dict)
    overlay_after_get: dict[str, Any] = field(default_factory=dict)
    overlay_after_client: dict[str, Any] = field(default_factory=dict)
    posts_ok: int = 0
    posts_refused: int = 0
    in_flight_at_sigterm: int = 0
    output: str = ""


class Burst:
    """Interactions at `rate`/s from the simulator, sequential POSTs per overlay."""

    def __init__(self, sim: DiscordSimulator, url: str, names: list[str], rate: float) -> None:
        self.sim = sim
        self.names = names
        self.rate = rate
        self.sent: list[dict[str, Any]] = []
        self.last_ok: dict[str, dict[str, Any]] = {}
        self.posts_ok = 0
        self.posts_refused = 0
        self._url = url

    async def interactions(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        start, n = loop.time(), 0
        while not stop.is_set():
            n += 1
            if n % 3 == 0:
                payload = factory.component("pick:red", message_id=str(1_500_000_000_000_000 + n))
            else:
                payload = factory.command("draft")
            try:
                self.sent.append(await self.sim.send_interaction(payload))
            except NoSessionError:
                pass
            delay = start + n / self.rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)

    async def posts(self, name: str, stop: asyncio.Event, offset: int) -> None:
        async with httpx.AsyncClient(
            base_url=self._url, headers={"Authorization": AUTH_TOKEN}, timeout=10
        ) as http:
            n = offset
            while not stop.is_set():
                n += 1
                state = overlay_state(n, name)
                try:
                    answer = await http.post(f"/overlay/{name}", json=state)
                except httpx.HTTPError:
                    self.posts_refused += 1
                    await asyncio.sleep(0.05)
                    continue
                if answer.status_code == 200:
                    self.posts_ok += 1
                    self.last_ok[name] = state
                else:
                    self.posts_refused += 1
                    await asyncio.sleep(0.05)


@asynccontextmanager
async def main_app(app: SlowMainApp) -> AsyncIterator[str]:
    async with serve(app, log_level="critical") as url:
        yield url + "/api/discord/interactions"


async def restart_during_burst(
    state_dir: Path,
    app: SlowMainApp,
    *,
    rate: float = 40.0,
    burst_before: float = 1.5,
    overlays: int = 3,
    clients_per_overlay: int = 3,
    settle_timeout: float = 60.0,
) -> RestartResult:
    names = [f"restart{i}" for i in range(overlays)]
    async with DiscordSimulator(heartbeat_interval_ms=1000) as sim, main_app(app) as forward:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        first = gunicorn(sim, state_dir, port, forward)
        try:
            await first.wait_http(url + "/health")
            fleet = OverlayFleet(url, AUTH_TOKEN, names, clients_per_overlay)
            await fleet.connect()
            burst = Burst(sim, url, names, rate)
            stop = asyncio.Event()
            jobs = [asyncio.create_task(burst.interactions(stop))]
            jobs += [
                asyncio.create_task(burst.posts(name, stop, 1000 * i))
                for i, name in enumerate(names)
            ]
            await asyncio.sleep(burst_before)  # the burst runs; then SIGTERM lands inside it
            in_flight = sum(
                1 for i in burst.sent if (r := sim.interaction(i["id"])) and r.acked_at
            ) - sum(1 for i in burst.sent if app.attempts.get(i["id"]))
            exit_code = await first.terminate(signal.SIGTERM)
            stop.set()
            await asyncio.gather(*jobs)
            await fleet.close()
        finally:
            first.stop()
        close_code = sim.connections[-1].close_code if sim.connections else None
        identifies_before, resumes_before = len(sim.identifies), len(sim.resumes)

        second = gunicorn(sim, state_dir, port, forward)
        try:
            await second.wait_http(url + "/health")
            result = RestartResult(
                exit_code=exit_code,
                close_code=close_code,
                identifies_before=identifies_before,
                resumes_before=resumes_before,
                identifies_after=len(sim.identifies),
                resumes_after=len(sim.resumes),
                interactions=burst.sent,
                in_flight_at_sigterm=max(0, in_flight),
                posts_ok=burst.posts_ok,
                posts_refused=burst.posts_refused,
                overlay_expected=dict(burst.last_ok),
            )
            await _settle_interactions(sim, app, result, settle_timeout)
            async with httpx.AsyncClient(
                base_url=url, headers={"Authorization": AUTH_TOKEN}, timeout=10
            ) as http:
                for name in names:
                    result.overlay_after_get[name] = (await http.get(f"/overlay/{name}")).json()
            late = OverlayFleet(url, AUTH_TOKEN, names, 1)
            await late.connect()
            await asyncio.wait_for(_all_received(late), 10)
            result.overlay_after_client = {c.overlay: c.last for c in late.clients}
            await late.close()
        finally:
            code = await second.terminate(signal.SIGTERM)
            result.output = first.output + second.output
        assert code == 0, second.output
        return result


async def _all_received(fleet: OverlayFleet) -> None:
    while any(c.last is None for c in fleet.clients):
        await asyncio.sleep(0.02)


async def _settle_interactions(
    sim: DiscordSimulator, app: SlowMainApp, result: RestartResult, timeout: float
) -> None:
    """Wait until every acknowledged interaction is either accepted by the main app or shows
    the error; what is still neither after `timeout` was left half done."""

    def messages(token: str) -> list[Any]:
        return [
            r
            for r in sim.rest.requests
            if r.path.startswith("/webhooks/") and token in r.path and 200 <= (r.status or 0) < 300
        ]

    def pending() -> list[str]:
        waiting = []
        for interaction in result.interactions:
            record = sim.interaction(interaction["id"])
            if record is None or record.acked_at is None:
                continue
            from_message = isinstance(interaction.get("message"), dict)
            told = error_shown(record.type, from_message, messages(record.token), ERROR_MESSAGE)
            if not app.accepted(interaction["id"]) and not told:
                waiting.append(interaction["id"])
        return waiting

    try:
        await sim.wait_for(lambda: not pending(), timeout, what="(acknowledged interactions)")
    except TimeoutError:
        pass
    result.silent = pending()
    for interaction in result.interactions:
        record = sim.interaction(interaction["id"])
        if record is None or record.acked_at is None:
            continue
        result.acked += 1
        if app.accepted(interaction["id"]) > 1:
            result.forwarded_twice.append(interaction["id"])
        from_message = isinstance(interaction.get("message"), dict)
        if error_shown(record.type, from_message, messages(record.token), ERROR_MESSAGE):
            result.error_shown += 1
