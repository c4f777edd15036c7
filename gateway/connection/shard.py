"""One gateway shard: the connection loop around the protocol state machine.

Each connection attempt gets a fresh `Connection` (generation id, transport, send limiter,
tasks). Whoever decides how the connection ends (receive loop, heartbeat, stop()) sets its
one `Outcome`; the run loop then cancels and awaits the connection's tasks and closes the
socket before it does anything else, so nothing of an old connection survives or touches the
new one. The socket, the inflater and reading the close live in `GatewayTransport`; what each
payload means lives in `ShardStateMachine`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import orjson
from websockets.exceptions import ConnectionClosed, WebSocketException

from gateway.clock import Clock, Sleep
from gateway.connection.backoff import Backoff
from gateway.connection.budget import IdentifyBudget
from gateway.connection.compression import CompressionError
from gateway.connection.connection import Connection, Outcome, Signal
from gateway.connection.limiter import IdentifyGate, IdentifyThrottle, SendLimiter
from gateway.connection.protocol import (
    CLOSE_FINAL,
    CLOSE_RESUMABLE,
    MAX_PAYLOAD_BYTES,
    RESUME_HOST_FAILURES,
    CloseAction,
    Compression,
    Op,
    ShardStatus,
    gateway_url,
    heartbeat_interval,
    identify_payload,
    resume_payload,
)
from gateway.connection.session import SessionState
from gateway.connection.state_machine import Dispatch, ShardStateMachine
from gateway.connection.timings import ShardTimings
from gateway.connection.transport import GatewayTransport, UndecodablePayload

log = logging.getLogger("gateway.shard")

StatusCallback = Callable[["Shard", ShardStatus], None]


class ShardError(Exception):
    pass


class PayloadTooLarge(ShardError):
    """A payload over 4096 bytes: refused before anything is sent."""


class ShardNotReady(ShardError):
    """No READY connection to send on."""


class Shard(ShardStateMachine):
    def __init__(
        self,
        shard_id: int,
        shard_count: int,
        *,
        token: str,
        intents: int,
        gateway_url: Callable[[], str],
        compression: Compression = "zlib-stream",
        dispatch: Dispatch | None = None,
        on_status: StatusCallback | None = None,
        identify_throttle: IdentifyGate | None = None,
        identify_budget: IdentifyBudget | None = None,
        presence: dict[str, Any] | None = None,
        session: SessionState | None = None,
        timings: ShardTimings | None = None,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
        rng: Callable[[], float] = random.random,
        sleep: Sleep = asyncio.sleep,
        heartbeat_sleep: Sleep = asyncio.sleep,
    ) -> None:
        """`clock`/`sleep` drive reconnect waits, throttles and the send limiter (a fake clock
        makes backoff tests instant); heartbeats run on the event loop's own clock with
        `heartbeat_sleep`, since they must track real time."""
        self.shard_id = shard_id
        self.shard_count = shard_count
        self.__token = token
        self.intents = intents
        self.compression = compression
        self.presence = presence
        self.timings = timings or ShardTimings()
        self._gateway_url = gateway_url
        self._dispatch = dispatch
        self._on_status = on_status
        self._throttle: IdentifyGate = identify_throttle or IdentifyThrottle(
            clock=clock, sleep=sleep
        )
        self._budget = identify_budget
        self._clock = clock
        self._wall = wall_clock
        self._rng = rng
        self._sleep = sleep
        self._heartbeat_sleep = heartbeat_sleep
        t = self.timings
        self._backoff = Backoff(
            base=t.backoff_base,
            cap=t.backoff_cap,
            floor=t.backoff_floor,
            fast_attempts=t.backoff_fast_attempts,
            rng=rng,
        )
        # session
        self.session_id: str | None = session.session_id if session else None
        self.seq: int | None = session.seq if session else None
        self.resume_url: str | None = session.resume_url if session else None
        # state for /health
        self.status = ShardStatus.IDLE
        self.latency: float | None = None
        self.last_ack_at: float | None = None
        self.reconnects = 0
        self.last_close_code: int | None = None
        self.last_close_reason: str | None = None
        self.failure_reason: str | None = None
        self.application_id: str | None = None
        self.stalls = 0
        self.duplicates = 0
        self.dropped = 0  # dispatches dropped: wrong shape, out of place or a sequence gap
        self.invalid_sessions = 0
        self.heartbeat_interval: float | None = None  # seconds, from the last HELLO
        self.resume_host_failures = 0  # failed connects in a row to resume_gateway_url
        self.generation = 0
        self._ready_at: float | None = None
        self._conn: Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._stop_code = CLOSE_RESUMABLE

    def __repr__(self) -> str:
        return f"<Shard {self.shard_id}/{self.shard_count} {self.status.value}>"

    # ---- public -------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.running:
            return
        self._stopping = False
        self.failure_reason = None
        self._backoff.reset()
        self._task = asyncio.create_task(self._run(), name=f"gateway-shard-{self.shard_id}")

    async def wait_stopped(self) -> None:
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def stop(self, *, resumable: bool = True) -> SessionState | None:
        """Close (4900 keeps the session resumable, 1000 ends it) and wait for every task."""
        self._stopping = True
        self._stop_code = CLOSE_RESUMABLE if resumable else CLOSE_FINAL
        task = self._task
        if task is not None and not task.done():
            conn = self._conn
            if conn is not None:
                conn.finish(Outcome(CloseAction.STOP, "stopped", send_code=self._stop_code))
            else:
                task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._task = None
        if not resumable:
            self._drop_session()
        if self.status is not ShardStatus.FAILED:
            self._set_status(ShardStatus.IDLE)
        return self.session_state()

    def session_state(self) -> SessionState | None:
        if self.session_id is None or self.resume_url is None:
            return None
        return SessionState(
            self.shard_id, self.shard_count, self.session_id, self.seq, self.resume_url
        )

    async def send(self, payload: dict[str, Any]) -> None:
        """An ordinary send (presence, member requests): size-checked, then rate limited."""
        data = orjson.dumps(payload)
        if len(data) > MAX_PAYLOAD_BYTES:
            raise PayloadTooLarge(f"{len(data)} bytes > {MAX_PAYLOAD_BYTES}")
        conn = self._conn
        if conn is None or conn.transport.ws is None or self.status is not ShardStatus.READY:
            raise ShardNotReady(f"shard {self.shard_id} is {self.status.value}")
        await conn.limiter.acquire()
        if conn is not self._conn or conn.outcome.done() or not self._fenced(conn):
            raise ShardNotReady(f"shard {self.shard_id} reconnected while waiting to send")
        await conn.transport.send(data.decode())

    def snapshot(self) -> dict[str, Any]:
        return {
            "shard_id": self.shard_id,
            "status": self.status.value,
            "latency_ms": None if self.latency is None else round(self.latency * 1000, 3),
            "last_ack_at": self.last_ack_at,
            "reconnects": self.reconnects,
            "last_close_code": self.last_close_code,
            "last_close_reason": self.last_close_reason,
            "seq": self.seq,
            "session": self.session_id is not None,
            "failure_reason": self.failure_reason,
            "stalls": self.stalls,
        }

    def _identify_payload(self) -> dict[str, Any]:
        shard = (self.shard_id, self.shard_count)
        return identify_payload(self.__token, self.intents, shard, self.presence)

    # ---- run loop -----------------------------------------------------------------------
    def _set_status(self, status: ShardStatus) -> None:
        if status is self.status:
            return
        self.status = status
        if status is ShardStatus.READY:
            self.resume_host_failures = 0
        if self._on_status is not None:
            try:
                self._on_status(self, status)
            except Exception:
                log.exception("shard %d: status callback failed", self.shard_id)

    def _drop_session(self) -> None:
        self.session_id = None
        self.seq = None
        self.resume_url = None

    async def _run(self) -> None:
        delay = 0.0
        while not self._stopping:
            if delay > 0:
                await self._sleep(delay)
                if self._stopping:
                    break
            outcome = await self._connect_once()
            if outcome.close_code is not None:
                self.last_close_code = outcome.close_code
            self.last_close_reason = outcome.reason
            if outcome.action is CloseAction.STOP or self._stopping:
                break
            if outcome.action is CloseAction.FATAL:
                self.failure_reason = outcome.reason
                log.error("shard %d: fatal close, not retrying: %s", self.shard_id, outcome.reason)
                self._set_status(ShardStatus.FAILED)
                return
            if outcome.action is CloseAction.IDENTIFY:
                self._drop_session()
            ready_at = self._ready_at
            if ready_at is not None:
                stable = self._clock() - ready_at >= self.timings.stable_after
                self._backoff.reached_ready(stable)
            self._ready_at = None
            self.reconnects += 1
            self._set_status(ShardStatus.RECONNECTING)
            delay = outcome.delay if outcome.delay is not None else self._backoff.next_delay()
            log.info(
                "shard %d: reconnecting (%s) after %s in %.2f s, attempt %d",
                self.shard_id,
                "resume" if self.session_id else "identify",
                outcome.reason,
                delay,
                self._backoff.attempt,
            )

    async def _connect_once(self) -> Outcome:
        self.generation += 1
        t = self.timings
        limiter = SendLimiter(
            limit=t.send_limit,
            ordinary=t.send_limit_ordinary,
            window=t.send_window,
            clock=self._clock,
            sleep=self._sleep,
        )
        conn = Connection(self.generation, GatewayTransport(self.compression), limiter)
        self._conn = conn
        try:
            conn.driver = asyncio.create_task(self._drive(conn))
            outcome = await asyncio.shield(conn.outcome)
        except asyncio.CancelledError:
            conn.finish(Outcome(CloseAction.STOP, "cancelled", send_code=self._stop_code))
            await self._teardown(conn, self._stop_code)
            raise
        if outcome.action is CloseAction.RESUME or outcome.action is CloseAction.IDENTIFY:
            # decided: not ready any more, even while the old socket takes its time to close
            self._set_status(ShardStatus.RECONNECTING)
        code = self._stop_code if self._stopping else outcome.send_code
        await self._teardown(conn, code)
        return outcome

    async def _teardown(self, conn: Connection, code: int) -> None:
        """Cancel and await every task of `conn`, then close its socket and wait for it."""
        tasks = [task for task in (conn.driver, *conn.tasks) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await conn.transport.close(code)
        except Exception:  # pragma: no cover - close never raises in websockets 17
            log.debug("shard %d: error while closing", self.shard_id, exc_info=True)
        conn.tasks.clear()
        conn.driver = None
        if self._conn is conn:
            self._conn = None

    async def _drive(self, conn: Connection) -> None:
        try:
            await self._converse(conn)
        except Signal as signal:
            conn.finish(signal.outcome)
        except ConnectionClosed as exc:
            conn.finish(self._closed(exc))
        except (TimeoutError, OSError, WebSocketException) as exc:
            if conn.stage == "connect" and conn.resume_host:
                self.resume_host_failures += 1
            self._failed(conn, exc)
        except UndecodablePayload:
            conn.finish(Outcome(CloseAction.RESUME, "undecodable payload"))
        except CompressionError as exc:
            log.warning("shard %d: corrupt frame: %s", self.shard_id, exc)
            conn.finish(Outcome(CloseAction.RESUME, "corrupt frame"))
        except Exception:
            log.exception("shard %d: unexpected error", self.shard_id)
            conn.finish(Outcome(CloseAction.RESUME, "internal error"))

    async def _converse(self, conn: Connection) -> None:
        t = self.timings
        resume = self.session_id is not None and self.resume_url is not None
        # Two failed connects in a row to the resume host: resume through /gateway/bot's URL.
        conn.resume_host = resume and self.resume_host_failures < RESUME_HOST_FAILURES
        base = self.resume_url if conn.resume_host and self.resume_url else self._gateway_url()
        url = gateway_url(base, self.compression)
        self._set_status(ShardStatus.CONNECTING)
        if not resume:
            # Budget and throttle before connecting: a socket left unread while it waits
            # would miss its heartbeat ACKs and look like a zombie.
            if self._budget is not None:
                await self._budget.spend()  # at 0 it waits for the reset
            waited = await self._throttle.acquire(self.shard_id)
            if waited:
                log.info("shard %d: identify throttled %.2f s", self.shard_id, waited)
        log.info(
            "shard %d: connecting to %s (%s)",
            self.shard_id,
            url.split("?", 1)[0],
            "resume" if resume else "identify",
        )
        conn.stage = "connect"
        async with asyncio.timeout(t.connect_timeout):
            ws = await conn.transport.open(url, t)
        if conn.resume_host:
            self.resume_host_failures = 0
        conn.stage = "HELLO"
        async with asyncio.timeout(t.hello_timeout):
            hello = await conn.transport.next_payload()
        if not isinstance(hello, dict) or hello.get("op") != Op.HELLO:
            log.warning("shard %d: first payload was not HELLO", self.shard_id)
            raise Signal(Outcome(CloseAction.RESUME, "first payload was not HELLO"))
        interval = heartbeat_interval(hello.get("d"))
        if interval is None:
            log.warning("shard %d: invalid HELLO (heartbeat_interval)", self.shard_id)
            raise Signal(Outcome(CloseAction.RESUME, "invalid HELLO"))
        self.heartbeat_interval = interval
        if self.lease is not None and not await self.lease.confirm():  # the fencing number
            raise Signal(Outcome(CloseAction.STOP, "lease lost"))
        conn.spawn(self._heartbeat(conn, interval))
        if resume:
            conn.stage = "RESUME"  # the replay comes before RESUMED, each re-arms the deadline
            self._set_status(ShardStatus.RESUMING)
            await self._send_priority(conn, resume_payload(self.__token, self.session_id, self.seq))
            deadline = asyncio.timeout(t.resume_timeout)
        else:
            conn.stage = "IDENTIFY"
            self._set_status(ShardStatus.IDENTIFYING)
            self.seq = None  # a new session numbers its dispatches from READY on
            await self._send_priority(conn, self._identify_payload())
            await self._throttle.sent(self.shard_id)
            conn.stage = "READY"
            deadline = asyncio.timeout(t.ready_timeout)
        conn.ready_deadline = deadline
        recv = ws.recv
        receive = self._receive
        async with deadline:
            while True:
                receive(conn, await recv(decode=False))
