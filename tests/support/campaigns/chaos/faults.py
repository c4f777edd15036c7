"""Random faults from the Discord simulator: every kind it supports, one every 1-5 s.

Each fault is a small coroutine; the injector picks one at random (seeded), runs it, records
what happened, then waits 1-5 s. A fault that needs an open gateway connection when there is none
(the client is in a backoff wait) is counted as skipped and a REST or /gateway/bot fault is
injected in its place.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from gateway.simulator import DiscordSimulator, NoConnectionError

#: Close codes by what the client must do (DESIGN.md gateway checklist line 8).
RESUME_CODES = (1011, 1012, 4000, 4001, 4002, 4008)
IDENTIFY_CODES = (1000, 1001, 4003, 4005, 4007, 4009)
FATAL_CODES = (4004, 4010, 4011, 4012, 4013, 4014)

#: Faults that need no open gateway connection.
CONNECTIONLESS = (
    "gateway_bot_503",
    "rest_429_callback",
    "rest_429_global",
    "rest_5xx_callback",
    "rest_5xx_webhook",
    "rest_drop_callback",
)

Recover = Callable[[], Awaitable[None]]


@dataclass
class FaultLog:
    counts: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    #: faults the client did not get past within `hold_timeout` (a violation, not a crash)
    stuck: list[str] = field(default_factory=list)
    timeline: list[tuple[float, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class FaultInjector:
    """`await injector.run(stop)` until the event is set; `await injector.heal()` after."""

    def __init__(
        self,
        sim: DiscordSimulator,
        *,
        recover: Recover,
        rng: random.Random,
        interval: tuple[float, float] = (1.0, 5.0),
        heartbeat_interval: float = 1.0,
        hold_timeout: float = 90.0,
        before: Callable[[], None] = lambda: None,
    ) -> None:
        self.before = before
        self.sim = sim
        self.recover = recover
        self.rng = rng
        self.interval = interval
        self.hold_timeout = hold_timeout
        self.heartbeat = heartbeat_interval
        self.log = FaultLog()
        loop = asyncio.get_running_loop()
        self._now = loop.time
        self.faults: dict[str, Callable[[], Awaitable[str]]] = {
            "drop_connection": self._drop,
            "close_resume_class": self._close_resume,
            "close_identify_class": self._close_identify,
            "close_fatal_class": self._close_fatal,
            "zombie": self._zombie,
            "withhold_hello": self._withhold_hello,
            "withhold_ready": self._withhold_ready,
            "garbage_text": self._garbage_text,
            "garbage_binary": self._garbage_binary,
            "corrupt_frame": self._corrupt,
            "refuse_503": self._refuse_503,
            "refuse_tcp": self._refuse_tcp,
            "op7_reconnect": self._op7,
            "op9_resumable": self._op9_true,
            "op9_not_resumable": self._op9_false,
            "op1_heartbeat_request": self._op1,
            "gateway_bot_503": self._gateway_bot_503,
            "rest_429_callback": self._rest_429,
            "rest_429_global": self._rest_429_global,
            "rest_5xx_callback": self._rest_5xx_callback,
            "rest_5xx_webhook": self._rest_5xx_webhook,
            "rest_drop_callback": self._rest_drop,
        }

    async def run(self, stop: asyncio.Event) -> None:
        names = sorted(self.faults)
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.rng.uniform(*self.interval))
                return
            except TimeoutError:
                pass
            name = self.rng.choice(names)
            self.before()
            try:
                detail = await self.faults[name]()
            except NoConnectionError:
                # The client is between connections (backoff): this fault needs a socket, so
                # one that does not is injected instead.
                self.log.skipped[name] += 1
                detail = await self.faults[self.rng.choice(CONNECTIONLESS)]()
            except TimeoutError as exc:
                self.log.stuck.append(f"{name}: {exc}")
                await self.heal()
                continue
            self.log.counts[detail] += 1
            self.log.timeline.append((self._now(), detail))

    async def heal(self) -> None:
        """Undo every lasting fault: the run ends on a healthy Discord."""
        sim = self.sim
        sim.stop_acking(False)
        sim.withhold_hello(False)
        sim.withhold_ready(False)
        sim.gateway_bot_status = None
        sim.rest.clear_injections()
        if not sim.gateway.listening or sim.gateway.refusing is not None:
            sim.accept_connections()
            await sim.wait_accepting(10)

    # ---- gateway socket faults --------------------------------------------------------
    async def _drop(self) -> str:
        await self.sim.drop_connection()
        return "drop_connection (1006)"

    async def _close_resume(self) -> str:
        code = self.rng.choice(RESUME_CODES)
        await self.sim.close(code, "chaos")
        return f"close {code} (resume)"

    async def _close_identify(self) -> str:
        code = self.rng.choice(IDENTIFY_CODES)
        await self.sim.close(code, "chaos")
        return f"close {code} (identify)"

    async def _close_fatal(self) -> str:
        """A fatal code stops the gateway (status failed); the operator's POST /discord
        (restart) brings it back, as the runbook says."""
        code = self.rng.choice(FATAL_CODES)
        await self.sim.close(code, "chaos")
        await self.recover()
        return f"close {code} (fatal) + POST /discord"

    async def _wait_closed(self, conn_ids: set[int]) -> None:
        sim = self.sim
        await sim.wait_for(
            lambda: all(not c.open for c in sim.connections if c.id in conn_ids),
            self.hold_timeout,
            what="(client closed the faulty connection)",
        )

    async def _zombie(self) -> str:
        """No heartbeat ACKs: the client must notice at its next heartbeat and resume."""
        sim = self.sim
        conns = {c.id for c in sim.gateway.targets(0)}
        sim.stop_acking(True)
        try:
            await self._wait_closed(conns)
        finally:
            sim.stop_acking(False)
        return "zombie (no ACK)"

    async def _withhold_hello(self) -> str:
        """Drop the socket; the next connection gets no HELLO until the client gives up on it."""
        sim = self.sim
        start = len(sim.connections)
        sim.withhold_hello(True)
        try:
            await sim.drop_connection()
            await sim.wait_for(
                lambda: any(c.closed_at for c in sim.connections[start:]),
                self.hold_timeout,
                what="(client gave up on a connection without HELLO)",
            )
        finally:
            sim.withhold_hello(False)
        return "HELLO withheld"

    async def _withhold_ready(self) -> str:
        """Force an IDENTIFY (op 9 false) that gets no READY until the client times out."""
        sim = self.sim
        start = len(sim.events)
        sim.withhold_ready(True)
        try:
            await sim.invalid_session(False)
            await sim.wait_for(
                lambda: any(e.kind == "ready_withheld" for e in sim.events[start:]),
                self.hold_timeout,
                what="(an IDENTIFY was left without READY)",
            )
            withheld = [e.connection for e in sim.events[start:] if e.kind == "ready_withheld"]
            await self._wait_closed(set(withheld))
        finally:
            sim.withhold_ready(False)
        return "READY withheld"

    async def _garbage_text(self) -> str:
        await self.sim.send_garbage("text")
        return "garbage text frame"

    async def _garbage_binary(self) -> str:
        await self.sim.send_garbage("binary")
        return "garbage binary frame"

    async def _corrupt(self) -> str:
        self.sim.corrupt_next_frame()
        return "corrupt next frame"

    async def _refuse(self, tcp: bool) -> None:
        sim = self.sim
        sim.refuse_connections(self.rng.uniform(1.0, 4.0), tcp=tcp)
        try:
            await sim.drop_connection()
        except NoConnectionError:
            pass  # already away: the refusal meets its next attempt

    async def _refuse_503(self) -> str:
        await self._refuse(tcp=False)
        return "connections refused (HTTP 503)"

    async def _refuse_tcp(self) -> str:
        await self._refuse(tcp=True)
        return "connections refused (TCP)"

    async def _op7(self) -> str:
        await self.sim.reconnect_op7()
        return "op 7 reconnect"

    async def _op9_true(self) -> str:
        await self.sim.invalid_session(True)
        return "op 9 d=true"

    async def _op9_false(self) -> str:
        await self.sim.invalid_session(False)
        return "op 9 d=false"

    async def _op1(self) -> str:
        await self.sim.request_heartbeat()
        return "op 1 heartbeat request"

    async def _gateway_bot_503(self) -> str:
        """GET /gateway/bot fails for a while (matters when the manager boots: fatal restart)."""
        self.sim.gateway_bot_status = 503
        await asyncio.sleep(self.rng.uniform(0.5, 2.0))
        self.sim.gateway_bot_status = None
        return "GET /gateway/bot 503"

    # ---- REST faults --------------------------------------------------------------------
    async def _rest_429(self) -> str:
        self.sim.rest.inject(
            "/interactions/*",
            429,
            times=self.rng.randint(1, 2),
            retry_after=round(self.rng.uniform(0.1, 0.8), 3),
        )
        return "REST 429 (route) on callbacks"

    async def _rest_429_global(self) -> str:
        self.sim.rest.inject(
            "/interactions/*", 429, retry_after=round(self.rng.uniform(0.1, 0.5), 3), global_=True
        )
        return "REST 429 (global) on callbacks"

    async def _rest_5xx_callback(self) -> str:
        status = self.rng.choice((500, 502, 503, 504))
        self.sim.rest.inject("/interactions/*", status, times=1)
        return f"REST {status} on a callback"

    async def _rest_5xx_webhook(self) -> str:
        status = self.rng.choice((500, 502, 503, 504))
        self.sim.rest.inject("/webhooks/*", status, times=1)
        return f"REST {status} on an error message"

    async def _rest_drop(self) -> str:
        self.sim.rest.inject("/interactions/*", None, times=1, drop=True)
        return "REST dropped connection on a callback"
