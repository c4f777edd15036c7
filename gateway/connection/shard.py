"""One gateway shard: the connection loop, acting on its protocol state's decisions.

The shard owns the loop, the transport (`GatewayTransport`) and its status; its `ShardState`
(`shard.state`, state_machine.py) decides what the protocol means: resume or identify, what
each payload does, a late heartbeat, a close. Each attempt gets a fresh `Connection`
(generation id, transport, send limiter, tasks). Whoever decides how it ends (receive loop,
heartbeat, stop()) sets its one `Outcome`; the run loop then cancels and awaits its tasks and
closes the socket before it does anything else, so nothing of an old connection survives or
touches the new one. What every shard of one gateway shares comes in one `ShardContext`
(context.py), built once (by the manager) and injected.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from websockets.exceptions import ConnectionClosed, WebSocketException

from gateway.connection.backoff import Backoff
from gateway.connection.compression import CompressionError
from gateway.connection.connection import Connection, Outcome, Signal
from gateway.connection.context import Fence, ShardContext
from gateway.connection.limiter import IdentifyThrottle, SendLimiter
from gateway.connection.protocol import (
    CLOSE_FINAL,
    CLOSE_RESUMABLE,
    MAX_PAYLOAD_BYTES,
    CloseAction,
    ShardStatus,
    gateway_url,
    identify_payload,
    resume_payload,
)
from gateway.connection.session import SessionState
from gateway.connection.state_machine import Act, ShardState
from gateway.connection.transport import GatewayTransport, UndecodablePayload

log = logging.getLogger("gateway.shard")
LOST = Outcome(CloseAction.STOP, "lease lost")


class ShardError(Exception):
    pass


class PayloadTooLarge(ShardError):
    """A payload over 4096 bytes: refused before anything is sent."""


class ShardNotReady(ShardError):
    """No READY connection to send on."""


class Shard:
    lease: Fence | None = None  # set by leases.py when the shard is held by lease

    def __init__(
        self,
        shard_id: int,
        shard_count: int,
        context: ShardContext,
        *,
        session: SessionState | None = None,
        presence: dict[str, Any] | None = None,
    ) -> None:
        """`session`: a saved session to resume; `presence`: the one IDENTIFY announces."""
        self.shard_id = shard_id
        self.shard_count = shard_count
        self.presence = presence
        self._context = c = context
        t = c.timings
        self.state = ShardState(shard_id, c.gateway_url, t, c.clocks, session=session)
        self._gate = c.identify_gate or IdentifyThrottle(
            interval=t.identify_interval, clocks=c.clocks
        )
        self._backoff = Backoff.of(t, c.clocks)
        self.status = ShardStatus.IDLE
        self.reconnects = 0
        self.last_close_code: int | None = None
        self.last_close_reason: str | None = None
        self.failure_reason: str | None = None
        self.generation = 0
        self._ready_at: float | None = None  # monotonic: the last READY or RESUMED
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

    @property
    def connection(self) -> Connection | None:
        """The current connection attempt (None between attempts): read only."""
        return self._conn

    @property
    def session_id(self) -> str | None:
        return self.state.session_id

    @property
    def seq(self) -> int | None:
        """The sequence number of the last dispatch handed on."""
        return self.state.seq

    @property
    def application_id(self) -> str | None:
        return self.state.application_id

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
            self.state.drop_session()
        if self.status is not ShardStatus.FAILED:
            self._set_status(ShardStatus.IDLE)
        return self.session_state()

    def session_state(self) -> SessionState | None:
        s = self.state
        if s.session_id is None or s.resume_url is None:
            return None
        return SessionState(self.shard_id, self.shard_count, s.session_id, s.seq, s.resume_url)

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
        s = self.state
        return {
            "shard_id": self.shard_id,
            "status": self.status.value,
            "latency_ms": None if s.latency is None else round(s.latency * 1000, 3),
            "last_ack_at": s.last_ack_at,
            "reconnects": self.reconnects,
            "last_close_code": self.last_close_code,
            "last_close_reason": self.last_close_reason,
            "seq": s.seq,
            "session": s.session_id is not None,
            "failure_reason": self.failure_reason,
            "stalls": s.stalls,
        }

    # ---- run loop -----------------------------------------------------------------------
    def _set_status(self, status: ShardStatus) -> None:
        if status is self.status:
            return
        self.status = status
        on_status = self._context.on_status
        if on_status is not None:
            try:
                on_status(self, status)
            except Exception:
                log.exception("shard %d: status callback failed", self.shard_id)

    async def _run(self) -> None:
        delay = 0.0
        sleep = self._context.clocks.sleep
        while not self._stopping:
            if delay > 0:
                await sleep(delay)
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
                self.state.drop_session()
            ready_at = self._ready_at
            if ready_at is not None:
                up = self._context.clocks.monotonic() - ready_at
                self._backoff.reached_ready(up >= self.state.timings.stable_after)
            self._ready_at = None
            self.reconnects += 1
            self._set_status(ShardStatus.RECONNECTING)
            delay = outcome.delay if outcome.delay is not None else self._backoff.next_delay()
            log.info(
                "shard %d: reconnecting (%s) after %s in %.2f s, attempt %d",
                self.shard_id,
                "resume" if self.state.session_id else "identify",
                outcome.reason,
                delay,
                self._backoff.attempt,
            )

    async def _connect_once(self) -> Outcome:
        self.generation += 1
        c, t = self._context, self.state.timings
        limiter = SendLimiter(
            limit=t.send_limit,
            ordinary=t.send_limit_ordinary,
            window=t.send_window,
            clocks=c.clocks,
        )
        conn = Connection(self.generation, GatewayTransport(c.compression), limiter)
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
        conn.live = False
        if self._conn is conn:
            self._conn = None

    async def _drive(self, conn: Connection) -> None:
        try:
            await self._converse(conn)
        except Signal as signal:
            conn.finish(signal.outcome)
        except ConnectionClosed as exc:
            conn.finish(self.state.closed(exc))
        except (TimeoutError, OSError, WebSocketException) as exc:
            conn.finish(self.state.failed(conn, exc))
        except UndecodablePayload:
            conn.finish(Outcome(CloseAction.RESUME, "undecodable payload"))
        except CompressionError as exc:
            log.warning("shard %d: corrupt frame: %s", self.shard_id, exc)
            conn.finish(Outcome(CloseAction.RESUME, "corrupt frame"))
        except Exception:
            log.exception("shard %d: unexpected error", self.shard_id)
            conn.finish(Outcome(CloseAction.RESUME, "internal error"))

    async def _converse(self, conn: Connection) -> None:
        c, state = self._context, self.state
        t = state.timings  # read at each connection (a campaign may shorten them)
        opening = state.opening()
        conn.resume_host = opening.resume_host
        url = gateway_url(opening.url, c.compression)
        self._set_status(ShardStatus.CONNECTING)
        if not opening.resume:
            # Budget and throttle before connecting: a socket left unread would look a zombie.
            if c.identify_budget is not None:
                await c.identify_budget.spend()  # at 0 it waits for the reset
            waited = await self._gate.acquire(self.shard_id)
            if waited:
                log.info("shard %d: identify throttled %.2f s", self.shard_id, waited)
        log.info(
            "shard %d: connecting to %s (%s)",
            self.shard_id,
            url.split("?", 1)[0],
            "resume" if opening.resume else "identify",
        )
        async with asyncio.timeout(t.connect_timeout):
            ws = await conn.transport.open(url, t)
        state.connected(conn)
        async with asyncio.timeout(t.hello_timeout):
            interval = state.hello(await conn.transport.next_payload())
        if self.lease is not None and not await self.lease.confirm():  # the fencing number
            late = self.lease.valid()  # Redis did not answer in time: unknown, not lost
            raise Signal(Outcome(CloseAction.RESUME, "lease unconfirmed") if late else LOST)
        conn.spawn(self._heartbeat(conn, interval))
        if opening.resume:
            self._set_status(ShardStatus.RESUMING)
            state.resuming(conn)
            await self._send_priority(conn, resume_payload(c.token, state.session_id, state.seq))
            deadline = asyncio.timeout(t.resume_timeout)
        else:
            self._set_status(ShardStatus.IDENTIFYING)
            state.identifying(conn)
            shard = (self.shard_id, self.shard_count)
            identify = identify_payload(c.token, c.intents, shard, self.presence)
            await self._send_priority(conn, identify)
            await self._gate.sent(self.shard_id)
            deadline = asyncio.timeout(t.ready_timeout)
        conn.ready_deadline = deadline
        recv = ws.recv
        receive = state.receive
        dispatch = c.dispatch
        hand_on = Act.HAND_ON
        async with deadline:
            while True:  # the hot path: bench/gateway_decode_bench.py measures its body
                act, event, data = receive(conn, await recv(decode=False))
                if act is not hand_on and not self._act(conn, act):
                    continue
                if dispatch is not None:
                    try:
                        dispatch(event, data, self)
                    except Exception:
                        log.exception("shard %d: dispatch of %s failed", self.shard_id, event)

    def _act(self, conn: Connection, act: Act) -> bool:
        """The state's decision other than a plain dispatch; True: hand the dispatch on."""
        if act is Act.LIVE:  # READY or RESUMED
            self._ready_at = self._context.clocks.monotonic()
            self._set_status(ShardStatus.READY)
            return True
        if act is Act.HEARTBEAT:  # op 1: one now
            conn.spawn(self._send_heartbeat(conn))
        return False

    # ---- sends and heartbeats -----------------------------------------------------------
    def _fenced(self, conn: Connection) -> bool:
        """False (and the connection ends, nothing sent) when the shard's lease is gone."""
        if self.lease is None or self.lease.valid():
            return True
        log.warning("shard %d: lease lost: closing before the next send", self.shard_id)
        conn.finish(LOST)
        return False

    async def _send_priority(self, conn: Connection, payload: dict[str, Any]) -> None:
        """Heartbeat / identify / resume: counted by the limiter, never queued behind it."""
        if conn.transport.ws is None or conn is not self._conn or not self._fenced(conn):
            return
        conn.limiter.record_priority()
        await conn.transport.send(orjson.dumps(payload).decode())

    async def _send_heartbeat(self, conn: Connection) -> None:
        payload = self.state.heartbeat(conn, asyncio.get_running_loop().time())
        try:
            await self._send_priority(conn, payload)
        except ConnectionClosed:
            pass  # the receive loop reports the close

    async def _heartbeat(self, conn: Connection, interval: float) -> None:
        clock = asyncio.get_running_loop().time
        state, sleep = self.state, self._context.heartbeat_sleep
        due = clock() + state.first_beat(interval)
        while not conn.outcome.done():
            delay = due - clock()
            if delay > 0:
                await sleep(delay)
            now = clock()
            zombie = state.beat_due(conn, now - due)
            if zombie is not None:
                conn.finish(zombie)
                return
            await self._send_heartbeat(conn)
            due += interval
            if due < now:
                due = now + interval
