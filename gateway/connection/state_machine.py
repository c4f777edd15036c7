"""The protocol state machine of a shard: what each payload received does.

One call per WebSocket message (`_receive`, the hot path: bench/gateway_decode_bench.py):
sequence bookkeeping, the session events (READY, RESUMED), duplicates and gaps, the control
opcodes and the heartbeat. It never touches the socket itself: it sends through the
connection's transport and ends a connection by raising or setting one `Outcome`.
`Shard` (shard.py) adds the connection loop around it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Protocol

import orjson
from websockets.exceptions import ConnectionClosed

from gateway.clock import Clock, Sleep
from gateway.connection.connection import Connection, Outcome, Signal
from gateway.connection.protocol import (
    CLOSE_FINAL,
    CLOSE_NO_FRAME,
    INVALID_SESSION_BACKOFF_CAP,
    CloseAction,
    Op,
    ShardStatus,
    close_rule,
)
from gateway.connection.timings import ShardTimings
from gateway.connection.transport import read_close

if TYPE_CHECKING:
    from gateway.connection.shard import Shard

log = logging.getLogger("gateway.shard")

_loads = orjson.loads
_SESSION_EVENTS: Final = frozenset({"READY", "RESUMED"})
# Discord numbers a session's dispatches 1, 2, 3...: a dispatch whose `s` skips ahead is
# dropped (a bogus `s` must not move the sequence); this many in a row mean events were
# really missed, and a resume has the server replay them.
GAPS_BEFORE_RESUME: Final = 3

Dispatch = Callable[[str, Any, "Shard"], None]


class Fence(Protocol):
    """A shard lease (SHARD_IDS=auto, lease.py): `valid()` before every send (a local
    deadline), `confirm()` in Redis before every IDENTIFY and RESUME."""

    def valid(self) -> bool: ...

    async def confirm(self) -> bool: ...


class ShardStateMachine:
    """The protocol state of one shard (its session, sequence and liveness figures)."""

    shard_id: int
    timings: ShardTimings
    session_id: str | None
    seq: int | None
    resume_url: str | None
    application_id: str | None
    latency: float | None
    last_ack_at: float | None
    stalls: int
    duplicates: int
    dropped: int
    invalid_sessions: int  # op 9 d=false in a row (reset by READY)
    lease: Fence | None = None  # set by leases.py when the shard is held by lease
    _conn: Connection | None
    _dispatch: Dispatch | None
    _gateway_url: Callable[[], str]
    _ready_at: float | None
    _clock: Clock
    _wall: Clock
    _rng: Callable[[], float]
    _heartbeat_sleep: Sleep

    def _set_status(self, status: ShardStatus) -> None:
        raise NotImplementedError

    # ---- receive path (one call per WebSocket message) ----------------------------------
    def _receive(self, conn: Connection, message: bytes | str) -> None:
        if conn is not self._conn:
            return  # a stale connection never touches the shard
        data = conn.feed(message)
        if data is None:
            return
        try:
            payload = _loads(data)
            op = payload["op"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise Signal(Outcome(CloseAction.RESUME, "undecodable payload")) from None
        if op != 0 or op.__class__ is not int:
            if op == 11 and op.__class__ is int:
                conn.awaiting_ack = False
                self.latency = asyncio.get_running_loop().time() - conn.heartbeat_sent_at
                self.last_ack_at = self._wall()
            else:
                self._on_control(conn, op, payload.get("d"))
            return
        # op 0, the hot path: the next dispatch of the session, in order
        try:
            seq = payload["s"]
            event = payload["t"]
            data = payload["d"]
        except KeyError:
            seq, event, data = payload.get("s"), payload.get("t"), payload.get("d")
        last = self.seq
        if (
            seq.__class__ is not int
            or last is None
            or seq != last + 1
            or event.__class__ is not str
            or event in _SESSION_EVENTS
            or not conn.accepting
        ) and not self._admit(conn, data, seq, event, last):
            return
        conn.gaps = 0
        self.seq = seq
        dispatch = self._dispatch
        if dispatch is not None:
            try:
                dispatch(event, data, self)  # type: ignore[arg-type]  # self is a Shard
            except Exception:
                log.exception("shard %d: dispatch of %s failed", self.shard_id, event)

    def _admit(self, conn: Connection, data: Any, seq: Any, event: Any, last: int | None) -> bool:
        """The slow path of a dispatch: session events, duplicates, gaps and wrong shapes.
        True when it is to be handled; a dropped dispatch never moves the sequence."""
        if event.__class__ is not str or seq.__class__ is not int or seq < (event != "READY"):
            # READY may carry s=0 (Spacebar numbers it so): it starts the sequence anyway.
            return self._drop("malformed dispatch (t=%s, s=%s)", brief(event), brief(seq))
        if event == "READY":
            if conn.accepting or conn.stage != "READY":
                return self._drop("READY out of place (s=%d)", seq)
            self._on_ready(conn, data)
            return True
        if not conn.accepting:
            if conn.stage != "RESUME":
                return self._drop("dispatch %s before READY (s=%d)", brief(event), seq)
            self._rearm_resume_deadline(conn)  # a replayed dispatch: the resume is alive
        if event == "RESUMED" and conn.stage != "RESUME":
            return self._drop("RESUMED out of place (s=%d)", seq)
        if last is not None:
            if seq <= last:
                self.duplicates += 1  # replayed twice; already handled
                return False
            if seq != last + 1 and conn.stage == "RESUME" and not conn.accepting:
                # A gap inside a RESUME's replay: what the server did not replay (a RESUMED or
                # READY numbered after our checkpoint) cannot be had by resuming again, which
                # would replay the same and loop. Taken as it is, and logged.
                log.warning(
                    "shard %d: RESUME replay starts at s=%d after s=%d: taken as it is",
                    self.shard_id,
                    seq,
                    last,
                )
            elif seq != last + 1:
                conn.gaps += 1
                self._drop("dispatch %s with s=%d after s=%d (gap)", brief(event), seq, last)
                if conn.gaps >= GAPS_BEFORE_RESUME:
                    log.warning("shard %d: sequence gaps: resuming to replay", self.shard_id)
                    raise Signal(Outcome(CloseAction.RESUME, "sequence gap"))
                return False
        if event == "RESUMED":
            self._on_resumed(conn)
        return True

    def _drop(self, what: str, *args: Any) -> bool:
        self.dropped += 1
        log.warning("shard %d: dropped " + what, self.shard_id, *args)
        return False

    def _on_ready(self, conn: Connection, data: Any) -> None:
        session_id = data.get("session_id") if isinstance(data, dict) else None
        if not isinstance(session_id, str) or not session_id:
            log.warning("shard %d: invalid READY (no session_id): identifying again", self.shard_id)
            raise Signal(Outcome(CloseAction.IDENTIFY, "invalid READY"))
        if conn.ready_deadline is not None:
            conn.ready_deadline.reschedule(None)
        conn.accepting = True
        conn.stage = "ready"
        self.session_id = session_id
        resume_url = data.get("resume_gateway_url")
        if not isinstance(resume_url, str) or not resume_url.startswith(("wss://", "ws://")):
            if resume_url is not None:
                log.warning("shard %d: READY: invalid resume_gateway_url ignored", self.shard_id)
            resume_url = self._gateway_url()
        self.resume_url = resume_url
        application = data.get("application")
        app_id = application.get("id") if isinstance(application, dict) else None
        if isinstance(app_id, str | int) and not isinstance(app_id, bool):
            self.application_id = str(app_id)
        self._ready_at = self._clock()
        self.invalid_sessions = 0
        log.info("shard %d: ready", self.shard_id)
        self._set_status(ShardStatus.READY)

    def _rearm_resume_deadline(self, conn: Connection) -> None:
        if conn.ready_deadline is not None:
            loop = asyncio.get_running_loop()
            conn.ready_deadline.reschedule(loop.time() + self.timings.resume_timeout)

    def _on_resumed(self, conn: Connection) -> None:
        if conn.ready_deadline is not None:
            conn.ready_deadline.reschedule(None)
        conn.accepting = True
        conn.stage = "ready"
        self._ready_at = self._clock()
        log.info("shard %d: resumed at seq %s", self.shard_id, self.seq)
        self._set_status(ShardStatus.READY)

    def _on_control(self, conn: Connection, op: Any, data: Any) -> None:
        if op.__class__ is not int:
            op = brief(op)  # "1" or true is no opcode: ignored below
        if op == Op.HEARTBEAT:
            conn.spawn(self._send_heartbeat(conn))
        elif op == Op.RECONNECT:
            log.info("shard %d: op 7 reconnect requested", self.shard_id)
            raise Signal(Outcome(CloseAction.RESUME, "op 7 reconnect"))
        elif op == Op.INVALID_SESSION:
            if data is True:
                log.info("shard %d: op 9 invalid session (resumable)", self.shard_id)
                raise Signal(Outcome(CloseAction.RESUME, "op 9 invalid session, resumable"))
            # Repeated invalid sessions back off: the wait doubles each time in a row.
            self.invalid_sessions += 1
            factor = min(2 ** (self.invalid_sessions - 1), INVALID_SESSION_BACKOFF_CAP)
            low, high = self.timings.invalid_session_wait
            wait = (low + (high - low) * self._rng()) * factor
            log.info("shard %d: op 9 invalid session; identify in %.2f s", self.shard_id, wait)
            raise Signal(
                Outcome(
                    CloseAction.IDENTIFY, "op 9 invalid session", delay=wait, send_code=CLOSE_FINAL
                )
            )
        else:
            log.info("shard %d: ignored op %s", self.shard_id, brief(op))

    # ---- how a connection ended ----------------------------------------------------
    def _failed(self, conn: Connection, exc: Exception) -> None:
        if isinstance(exc, TimeoutError):
            log.warning("shard %d: %s timed out", self.shard_id, conn.stage)
            conn.finish(Outcome(CloseAction.RESUME, f"{conn.stage} timeout"))
            return
        log.warning("shard %d: connect failed: %s", self.shard_id, exc.__class__.__name__)
        conn.finish(Outcome(CloseAction.RESUME, f"connect failed: {exc.__class__.__name__}"))

    def _closed(self, exc: ConnectionClosed) -> Outcome:
        closed = read_close(exc)
        rule = close_rule(closed.code)
        code = closed.code if closed.code is not None else CLOSE_NO_FRAME
        if closed.by == "us":
            reason = f"{code} {closed.detail}"
            log.warning(
                "shard %d: closed by this side: %s -> %s", self.shard_id, reason, rule.action.value
            )
        else:
            reason = f"{code} {rule.reason}"
            log.warning(
                "shard %d: closed by the server: %s -> %s", self.shard_id, reason, rule.action.value
            )
        return Outcome(rule.action, reason, close_code=code)

    # ---- heartbeat ----------------------------------------------------------------------
    def _fenced(self, conn: Connection) -> bool:
        """False (and the connection ends, nothing sent) when the shard's lease is gone."""
        if self.lease is None or self.lease.valid():
            return True
        log.warning("shard %d: lease lost: closing before the next send", self.shard_id)
        conn.finish(Outcome(CloseAction.STOP, "lease lost"))
        return False

    async def _send_priority(self, conn: Connection, payload: dict[str, Any]) -> None:
        """Heartbeat / identify / resume: counted by the limiter, never queued behind it."""
        if conn.transport.ws is None or conn is not self._conn or not self._fenced(conn):
            return
        conn.limiter.record_priority()
        await conn.transport.send(orjson.dumps(payload).decode())

    async def _send_heartbeat(self, conn: Connection) -> None:
        conn.heartbeat_sent_at = asyncio.get_running_loop().time()
        conn.awaiting_ack = True
        try:
            await self._send_priority(conn, {"op": Op.HEARTBEAT, "d": self.seq})
        except ConnectionClosed:
            pass  # the receive loop reports the close

    async def _heartbeat(self, conn: Connection, interval: float) -> None:
        clock = asyncio.get_running_loop().time
        due = clock() + interval * self._rng()
        while not conn.outcome.done():
            delay = due - clock()
            if delay > 0:
                await self._heartbeat_sleep(delay)
            now = clock()
            lag = now - due
            stalled = lag > self.timings.stall_warning
            if stalled:
                self.stalls += 1
                log.warning(
                    "shard %d: event loop stalled: heartbeat %.2f s late", self.shard_id, lag
                )
            # After a stall the ACK may be waiting unread in the socket: not a zombie.
            if conn.awaiting_ack and not stalled:
                log.warning("shard %d: no heartbeat ACK: zombie connection", self.shard_id)
                conn.finish(Outcome(CloseAction.RESUME, "zombie connection (no heartbeat ACK)"))
                return
            await self._send_heartbeat(conn)
            due += interval
            if due < now:
                due = now + interval


def brief(value: Any) -> str:
    """A short repr of a field the server sent, for a log line (never a whole payload)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
