"""The protocol state of a shard, and the decisions it leads to.

`ShardState` holds one shard's session (id, sequence, resume URL) and its liveness figures,
and decides: whether the next connection resumes or identifies and where it goes (`opening`),
what each payload received means (`receive`, one call per WebSocket message, the hot path:
bench/gateway_decode_bench.py), when a heartbeat is late or the connection a zombie
(`beat_due`), and what a failed connect or a close means (`failed`, `closed`). It touches no
socket and starts no task: `receive` returns a `Decision` (hand a dispatch on, the shard is
READY, send a heartbeat now), and a connection is ended by raising `Signal` with its one
`Outcome` (close and why, in the close table's vocabulary). `Shard` (shard.py) owns the loop
and the transport and acts on them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final

import orjson
from websockets.exceptions import ConnectionClosed

from gateway.backoff import backoff_delay
from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.connection.connection import Connection, Outcome, Signal
from gateway.connection.protocol import (
    CLOSE_FINAL,
    CLOSE_NO_FRAME,
    INVALID_SESSION_BACKOFF_CAP,
    RESUME_HOST_FAILURES,
    CloseAction,
    Op,
    close_rule,
    heartbeat_interval,
)
from gateway.connection.session import SessionState
from gateway.connection.timings import ShardTimings
from gateway.connection.transport import read_close

log = logging.getLogger("gateway.shard")

_loads = orjson.loads
_SESSION_EVENTS: Final = frozenset({"READY", "RESUMED"})
# Discord numbers a session's dispatches 1, 2, 3...: a dispatch whose `s` skips ahead is
# dropped (a bogus `s` must not move the sequence); this many in a row mean events were
# really missed, and a resume has the server replay them.
GAPS_BEFORE_RESUME: Final = 3


class Act(Enum):
    """What the shard does after a payload (`Decision`'s first item)."""

    NOTHING = "nothing"
    HAND_ON = "hand on"  # a dispatch for the handlers
    LIVE = "live"  # READY or RESUMED accepted: the shard is READY, then hands it on
    HEARTBEAT = "heartbeat"  # op 1: one heartbeat now, outside the schedule


Decision = tuple[Act, str, Any]  # (what to do, the dispatch's event name, its data)
NOTHING: Final[Decision] = (Act.NOTHING, "", None)
BEAT_NOW: Final[Decision] = (Act.HEARTBEAT, "", None)
_HAND_ON: Final = Act.HAND_ON
_LIVE: Final = Act.LIVE


@dataclass(frozen=True, slots=True)
class Opening:
    """How the next connection opens: resume (or identify), and the URL it goes to."""

    resume: bool
    resume_host: bool  # to the session's resume_gateway_url, not /gateway/bot's URL
    url: str


class ShardState:
    """The protocol state of one shard: its session, sequence and liveness figures."""

    def __init__(
        self,
        shard_id: int,
        gateway_url: Callable[[], str],
        timings: ShardTimings | None = None,
        clocks: Clocks = SYSTEM_CLOCKS,
        *,
        session: SessionState | None = None,
    ) -> None:
        """`gateway_url`: /gateway/bot's URL (identifies go there, and resumes after two failed
        connects to the resume host); `session`: a saved session to resume."""
        self.shard_id = shard_id
        self.timings = timings or ShardTimings()
        self._gateway_url = gateway_url
        self._wall = clocks.wall
        self._random = clocks.random
        self.session_id: str | None = session.session_id if session else None
        self.seq: int | None = session.seq if session else None
        self.resume_url: str | None = session.resume_url if session else None
        self.application_id: str | None = None
        self.latency: float | None = None
        self.last_ack_at: float | None = None  # unix time of the last heartbeat ACK
        self.heartbeat_interval: float | None = None  # seconds, from the last HELLO
        self.resume_host_failures = 0  # failed connects in a row to resume_gateway_url
        self.stalls = 0
        self.duplicates = 0
        self.dropped = 0  # dispatches dropped: wrong shape, out of place or a sequence gap
        self.invalid_sessions = 0  # op 9 d=false in a row (reset by READY)

    def drop_session(self) -> None:
        self.session_id = None
        self.seq = None
        self.resume_url = None

    # ---- opening a connection -----------------------------------------------------------
    def opening(self) -> Opening:
        """Resume when there is a session; two failed connects in a row to the resume host
        send the resume to /gateway/bot's URL instead."""
        resume = self.session_id is not None and self.resume_url is not None
        resume_host = resume and self.resume_host_failures < RESUME_HOST_FAILURES
        url = self.resume_url if resume_host and self.resume_url else self._gateway_url()
        return Opening(resume, resume_host, url)

    def connected(self, conn: Connection) -> None:
        """The socket is open: HELLO comes next."""
        if conn.resume_host:
            self.resume_host_failures = 0
        conn.stage = "HELLO"

    def hello(self, payload: Any) -> float:
        """The heartbeat interval (seconds) of the connection's first payload, a HELLO."""
        if not isinstance(payload, dict) or payload.get("op") != Op.HELLO:
            log.warning("shard %d: first payload was not HELLO", self.shard_id)
            raise Signal(Outcome(CloseAction.RESUME, "first payload was not HELLO"))
        interval = heartbeat_interval(payload.get("d"))
        if interval is None:
            log.warning("shard %d: invalid HELLO (heartbeat_interval)", self.shard_id)
            raise Signal(Outcome(CloseAction.RESUME, "invalid HELLO"))
        self.heartbeat_interval = interval
        return interval

    def resuming(self, conn: Connection) -> None:
        conn.stage = "RESUME"  # the replay comes before RESUMED, each re-arms the deadline

    def identifying(self, conn: Connection) -> None:
        conn.stage = "READY"  # the IDENTIFY goes out next; then READY is awaited
        self.seq = None  # a new session numbers its dispatches from READY on

    # ---- receive path (one call per WebSocket message) ----------------------------------
    def receive(self, conn: Connection, message: bytes | str) -> Decision:
        if not conn.live:
            return NOTHING  # a stale connection never touches the state
        data = conn.feed(message)
        if data is None:
            return NOTHING
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
                return NOTHING
            return self._on_control(op, payload.get("d"))
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
        ):
            act = self._admit(conn, data, seq, event, last)
            if act is None:
                return NOTHING
            conn.gaps = 0
            self.seq = seq
            return act, event, data
        conn.gaps = 0
        self.seq = seq
        return _HAND_ON, event, data

    def _admit(
        self, conn: Connection, data: Any, seq: Any, event: Any, last: int | None
    ) -> Act | None:
        """The slow path of a dispatch: session events, duplicates, gaps and wrong shapes.
        None when it is dropped; a dropped dispatch never moves the sequence."""
        if event.__class__ is not str or seq.__class__ is not int or seq < (event != "READY"):
            # READY may carry s=0 (Spacebar numbers it so): it starts the sequence anyway.
            self._drop("malformed dispatch (t=%s, s=%s)", brief(event), brief(seq))
            return None
        if event == "READY":
            if conn.accepting or conn.stage != "READY":
                self._drop("READY out of place (s=%d)", seq)
                return None
            self._on_ready(conn, data)
            return _LIVE
        if not conn.accepting:
            if conn.stage != "RESUME":
                self._drop("dispatch %s before READY (s=%d)", brief(event), seq)
                return None
            self._rearm_resume_deadline(conn)  # a replayed dispatch: the resume is alive
        if event == "RESUMED" and conn.stage != "RESUME":
            self._drop("RESUMED out of place (s=%d)", seq)
            return None
        if last is not None:
            if seq <= last:
                self.duplicates += 1  # replayed twice; already handled
                return None
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
                return None
        if event == "RESUMED":
            self._on_resumed(conn)
            return _LIVE
        return _HAND_ON

    def _drop(self, what: str, *args: Any) -> None:
        self.dropped += 1
        log.warning("shard %d: dropped " + what, self.shard_id, *args)

    def _on_ready(self, conn: Connection, data: Any) -> None:
        session_id = data.get("session_id") if isinstance(data, dict) else None
        if not isinstance(session_id, str) or not session_id:
            log.warning("shard %d: invalid READY (no session_id): identifying again", self.shard_id)
            raise Signal(Outcome(CloseAction.IDENTIFY, "invalid READY"))
        self._live(conn)
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
        self.invalid_sessions = 0
        log.info("shard %d: ready", self.shard_id)

    def _rearm_resume_deadline(self, conn: Connection) -> None:
        if conn.ready_deadline is not None:
            loop = asyncio.get_running_loop()
            conn.ready_deadline.reschedule(loop.time() + self.timings.resume_timeout)

    def _on_resumed(self, conn: Connection) -> None:
        self._live(conn)
        log.info("shard %d: resumed at seq %s", self.shard_id, self.seq)

    def _live(self, conn: Connection) -> None:
        """READY or RESUMED: no deadline any more, dispatches take the fast path."""
        if conn.ready_deadline is not None:
            conn.ready_deadline.reschedule(None)
        conn.accepting = True
        conn.stage = "ready"
        self.resume_host_failures = 0

    def _on_control(self, op: Any, data: Any) -> Decision:
        if op.__class__ is not int:
            op = brief(op)  # "1" or true is no opcode: ignored below
        if op == Op.HEARTBEAT:
            return BEAT_NOW
        if op == Op.RECONNECT:
            log.info("shard %d: op 7 reconnect requested", self.shard_id)
            raise Signal(Outcome(CloseAction.RESUME, "op 7 reconnect"))
        if op == Op.INVALID_SESSION:
            if data is True:
                log.info("shard %d: op 9 invalid session (resumable)", self.shard_id)
                raise Signal(Outcome(CloseAction.RESUME, "op 9 invalid session, resumable"))
            # Repeated invalid sessions back off: from a wait of 1-5 s, doubling each time in a
            # row, at most INVALID_SESSION_BACKOFF_CAP times that (gateway/backoff.py).
            self.invalid_sessions += 1
            low, high = self.timings.invalid_session_wait
            base = low + (high - low) * self._random()
            wait = backoff_delay(self.invalid_sessions, base, base * INVALID_SESSION_BACKOFF_CAP)
            log.info("shard %d: op 9 invalid session; identify in %.2f s", self.shard_id, wait)
            raise Signal(
                Outcome(
                    CloseAction.IDENTIFY, "op 9 invalid session", delay=wait, send_code=CLOSE_FINAL
                )
            )
        log.info("shard %d: ignored op %s", self.shard_id, brief(op))
        return NOTHING

    # ---- heartbeat ----------------------------------------------------------------------
    def first_beat(self, interval: float) -> float:
        """Seconds from HELLO to the first heartbeat: `interval * random()`."""
        return interval * self._random()

    def beat_due(self, conn: Connection, lag: float) -> Outcome | None:
        """A heartbeat is due, `lag` s late. The outcome when the connection is a zombie (the
        previous heartbeat unacknowledged); a stall (`lag` over stall_warning) is counted, and
        excuses a missing ACK (it may be waiting unread in the socket)."""
        stalled = lag > self.timings.stall_warning
        if stalled:
            self.stalls += 1
            log.warning("shard %d: event loop stalled: heartbeat %.2f s late", self.shard_id, lag)
        if conn.awaiting_ack and not stalled:
            log.warning("shard %d: no heartbeat ACK: zombie connection", self.shard_id)
            return Outcome(CloseAction.RESUME, "zombie connection (no heartbeat ACK)")
        return None

    def heartbeat(self, conn: Connection, now: float) -> dict[str, Any]:
        """The heartbeat to send (`now`: the event loop's time; the ACK measures latency)."""
        conn.heartbeat_sent_at = now
        conn.awaiting_ack = True
        return {"op": Op.HEARTBEAT, "d": self.seq}

    # ---- how a connection ended ---------------------------------------------------------
    def failed(self, conn: Connection, exc: Exception) -> Outcome:
        """A timeout or a connect that failed (socket or handshake error)."""
        if conn.stage == "connect" and conn.resume_host:
            self.resume_host_failures += 1
        if isinstance(exc, TimeoutError):
            log.warning("shard %d: %s timed out", self.shard_id, conn.stage)
            return Outcome(CloseAction.RESUME, f"{conn.stage} timeout")
        log.warning("shard %d: connect failed: %s", self.shard_id, exc.__class__.__name__)
        return Outcome(CloseAction.RESUME, f"connect failed: {exc.__class__.__name__}")

    def closed(self, exc: ConnectionClosed) -> Outcome:
        """What the socket's close means (the close table, protocol.py)."""
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


def brief(value: Any) -> str:
    """A short repr of a field the server sent, for a log line (never a whole payload)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
