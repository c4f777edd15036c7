"""One gateway shard: an explicit connection state machine on `websockets` (asyncio API).

Each connection attempt gets a fresh `_Connection` (generation id, inflater, send limiter,
tasks). Whoever decides how the connection ends (receive loop, heartbeat, stop()) sets its
outcome once; the run loop then cancels and awaits the connection's tasks and closes the socket
before it does anything else, so nothing of an old connection survives or touches the new one.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from gateway.connection.backoff import Backoff
from gateway.connection.compression import CompressionError, Inflater, make_inflater
from gateway.connection.limiter import IdentifyThrottle, SendLimiter
from gateway.connection.protocol import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    BACKOFF_FAST_ATTEMPTS,
    CLOSE_FINAL,
    CLOSE_RESUMABLE,
    CONNECT_TIMEOUT,
    HELLO_TIMEOUT,
    INVALID_SESSION_WAIT,
    MAX_PAYLOAD_BYTES,
    READY_TIMEOUT,
    SEND_LIMIT,
    SEND_LIMIT_ORDINARY,
    SEND_WINDOW,
    STABLE_AFTER,
    STALL_WARNING,
    CloseAction,
    Op,
    ShardStatus,
    close_rule,
    gateway_url,
)
from gateway.connection.session import SessionState

log = logging.getLogger("gateway.shard")
# websockets logs every frame at DEBUG, IDENTIFY and RESUME (the token) included: its logger
# is our own and never goes below INFO, whatever the root level.
_ws_log = logging.getLogger("gateway.shard.websockets")
_ws_log.setLevel(logging.INFO)

_loads = orjson.loads
_SESSION_EVENTS: Final = frozenset({"READY", "RESUMED"})
# Discord numbers a session's dispatches 1, 2, 3...: a dispatch whose `s` skips ahead is
# dropped (a bogus `s` must not move the sequence); this many in a row mean events were
# really missed, and a resume has the server replay them.
GAPS_BEFORE_RESUME: Final = 3
USER_AGENT: Final = "DiscordBot (https://github.com/draft-league/companion, 0.1.0)"

Dispatch = Callable[[str, Any, "Shard"], None]
StatusCallback = Callable[["Shard", ShardStatus], None]


class ShardError(Exception):
    pass


class PayloadTooLarge(ShardError):
    """A payload over 4096 bytes: refused before anything is sent."""


class ShardNotReady(ShardError):
    """No READY connection to send on."""


@dataclass(frozen=True, slots=True)
class ShardTimings:
    """Every timing of a shard; the defaults are the protocol constants, tests shrink them."""

    connect_timeout: float = CONNECT_TIMEOUT
    hello_timeout: float = HELLO_TIMEOUT
    ready_timeout: float = READY_TIMEOUT
    backoff_base: float = BACKOFF_BASE
    backoff_cap: float = BACKOFF_CAP
    backoff_floor: float = 1.0
    backoff_fast_attempts: int = BACKOFF_FAST_ATTEMPTS
    stable_after: float = STABLE_AFTER
    invalid_session_wait: tuple[float, float] = INVALID_SESSION_WAIT
    stall_warning: float = STALL_WARNING
    send_limit: int = SEND_LIMIT
    send_limit_ordinary: int = SEND_LIMIT_ORDINARY
    send_window: float = SEND_WINDOW
    # websockets' own keepalive; its timeout closes with 1011, which we resume from.
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    close_timeout: float = 5.0


class _Next(enum.Enum):
    KEEP_SESSION = "keep"  # reconnect; resume when a session exists
    DROP_SESSION = "drop"  # reconnect with a fresh IDENTIFY
    FATAL = "fatal"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class _Outcome:
    next: _Next
    reason: str
    close_code: int | None = None  # the server's close code, when there was one
    delay: float | None = None  # explicit wait before the next attempt (op 9 d=false)
    send_code: int = CLOSE_RESUMABLE  # what we close with, if the socket is still open


class _Signal(Exception):  # internal control flow, never escapes the shard
    def __init__(self, outcome: _Outcome) -> None:
        self.outcome = outcome


class _Connection:
    __slots__ = (
        "accepting",
        "awaiting_ack",
        "driver",
        "feed",
        "gaps",
        "generation",
        "heartbeat_sent_at",
        "inflater",
        "limiter",
        "outcome",
        "ready_deadline",
        "stage",
        "tasks",
        "ws",
    )

    def __init__(self, generation: int, inflater: Inflater, limiter: SendLimiter) -> None:
        self.generation = generation
        self.inflater = inflater
        self.feed = inflater.feed  # bound once: the receive path calls it per message
        self.limiter = limiter
        self.outcome: asyncio.Future[_Outcome] = asyncio.get_running_loop().create_future()
        self.ws: ClientConnection | None = None
        self.driver: asyncio.Task[None] | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.awaiting_ack = False
        self.accepting = False  # dispatches are taken: after READY, or while resuming
        self.gaps = 0  # dispatches in a row dropped for a sequence gap
        self.heartbeat_sent_at = 0.0
        self.ready_deadline: asyncio.Timeout | None = None
        self.stage = "connect"

    def finish(self, outcome: _Outcome) -> None:
        if not self.outcome.done():
            self.outcome.set_result(outcome)

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


class Shard:
    def __init__(
        self,
        shard_id: int,
        shard_count: int,
        *,
        token: str,
        intents: int,
        gateway_url: Callable[[], str],
        compression: str = "zlib-stream",
        dispatch: Dispatch | None = None,
        on_status: StatusCallback | None = None,
        identify_throttle: IdentifyThrottle | None = None,
        presence: dict[str, Any] | None = None,
        session: SessionState | None = None,
        timings: ShardTimings | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        heartbeat_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
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
        self._throttle = identify_throttle or IdentifyThrottle(clock=clock, sleep=sleep)
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
        self.generation = 0
        self._ready_at: float | None = None
        self._conn: _Connection | None = None
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
                conn.finish(_Outcome(_Next.STOP, "stopped", send_code=self._stop_code))
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
        if conn is None or conn.ws is None or self.status is not ShardStatus.READY:
            raise ShardNotReady(f"shard {self.shard_id} is {self.status.value}")
        await conn.limiter.acquire()
        if conn is not self._conn or conn.outcome.done():
            raise ShardNotReady(f"shard {self.shard_id} reconnected while waiting to send")
        await conn.ws.send(data.decode())

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

    # ---- run loop -----------------------------------------------------------------------
    def _set_status(self, status: ShardStatus) -> None:
        if status is self.status:
            return
        self.status = status
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
            if outcome.next is _Next.STOP or self._stopping:
                break
            if outcome.next is _Next.FATAL:
                self.failure_reason = outcome.reason
                log.error("shard %d: fatal close, not retrying: %s", self.shard_id, outcome.reason)
                self._set_status(ShardStatus.FAILED)
                return
            if outcome.next is _Next.DROP_SESSION:
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

    async def _connect_once(self) -> _Outcome:
        self.generation += 1
        t = self.timings
        limiter = SendLimiter(
            limit=t.send_limit,
            ordinary=t.send_limit_ordinary,
            window=t.send_window,
            clock=self._clock,
            sleep=self._sleep,
        )
        conn = _Connection(self.generation, make_inflater(self.compression), limiter)
        self._conn = conn
        try:
            conn.driver = asyncio.create_task(self._drive(conn))
            outcome = await asyncio.shield(conn.outcome)
        except asyncio.CancelledError:
            conn.finish(_Outcome(_Next.STOP, "cancelled", send_code=self._stop_code))
            await self._teardown(conn, self._stop_code)
            raise
        code = self._stop_code if self._stopping else outcome.send_code
        await self._teardown(conn, code)
        return outcome

    async def _teardown(self, conn: _Connection, code: int) -> None:
        """Cancel and await every task of `conn`, then close its socket and wait for it."""
        tasks = [task for task in (conn.driver, *conn.tasks) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        ws = conn.ws
        if ws is not None:
            try:
                await ws.close(code=code)
            except Exception:  # pragma: no cover - close never raises in websockets 17
                log.debug("shard %d: error while closing", self.shard_id, exc_info=True)
        conn.ws = None
        conn.tasks.clear()
        conn.driver = None
        if self._conn is conn:
            self._conn = None

    async def _drive(self, conn: _Connection) -> None:
        try:
            await self._converse(conn)
        except _Signal as signal:
            conn.finish(signal.outcome)
        except ConnectionClosed as exc:
            conn.finish(self._closed(exc))
        except TimeoutError:
            log.warning("shard %d: %s timed out", self.shard_id, conn.stage)
            conn.finish(_Outcome(_Next.KEEP_SESSION, f"{conn.stage} timeout"))
        except CompressionError as exc:
            log.warning("shard %d: corrupt frame: %s", self.shard_id, exc)
            conn.finish(_Outcome(_Next.KEEP_SESSION, "corrupt frame"))
        except (OSError, WebSocketException) as exc:
            log.warning("shard %d: connect failed: %s", self.shard_id, exc.__class__.__name__)
            conn.finish(_Outcome(_Next.KEEP_SESSION, f"connect failed: {exc.__class__.__name__}"))
        except Exception:
            log.exception("shard %d: unexpected error", self.shard_id)
            conn.finish(_Outcome(_Next.KEEP_SESSION, "internal error"))

    def _closed(self, exc: ConnectionClosed) -> _Outcome:
        rcvd = exc.rcvd
        code = rcvd.code if rcvd is not None else None
        rule = close_rule(code)
        reason = f"{code if code is not None else 1006} {rule.reason}"
        log.warning(
            "shard %d: closed by the server: %s -> %s", self.shard_id, reason, rule.action.value
        )
        nxt = {
            CloseAction.RESUME: _Next.KEEP_SESSION,
            CloseAction.IDENTIFY: _Next.DROP_SESSION,
            CloseAction.FATAL: _Next.FATAL,
        }[rule.action]
        return _Outcome(nxt, reason, close_code=code if code is not None else 1006)

    async def _converse(self, conn: _Connection) -> None:
        t = self.timings
        resume = self.session_id is not None and self.resume_url is not None
        base = self.resume_url if resume and self.resume_url else self._gateway_url()
        url = gateway_url(base, self.compression)
        self._set_status(ShardStatus.CONNECTING)
        log.info(
            "shard %d: connecting to %s (%s)",
            self.shard_id,
            url.split("?", 1)[0],
            "resume" if resume else "identify",
        )
        conn.stage = "connect"
        async with asyncio.timeout(t.connect_timeout):
            ws = await connect(
                url,
                max_size=None,
                compression=None,
                proxy=None,
                open_timeout=None,
                ping_interval=t.ping_interval,
                ping_timeout=t.ping_timeout,
                close_timeout=t.close_timeout,
                user_agent_header=USER_AGENT,
                logger=_ws_log,
            )
        conn.ws = ws
        conn.stage = "HELLO"
        async with asyncio.timeout(t.hello_timeout):
            hello = await self._next_payload(conn, ws)
        if not isinstance(hello, dict) or hello.get("op") != Op.HELLO:
            log.warning("shard %d: first payload was not HELLO", self.shard_id)
            raise _Signal(_Outcome(_Next.KEEP_SESSION, "first payload was not HELLO"))
        interval = _heartbeat_interval(hello.get("d"))
        if interval is None:
            log.warning("shard %d: invalid HELLO (heartbeat_interval)", self.shard_id)
            raise _Signal(_Outcome(_Next.KEEP_SESSION, "invalid HELLO"))
        conn.spawn(self._heartbeat(conn, interval))
        if resume:
            conn.stage = "RESUME"
            conn.accepting = True  # the replay comes before RESUMED
            self._set_status(ShardStatus.RESUMING)
            await self._send_priority(conn, self._resume_payload())
            deadline = asyncio.timeout(None)
        else:
            conn.stage = "IDENTIFY"
            self._set_status(ShardStatus.IDENTIFYING)
            waited = await self._throttle.acquire(self.shard_id)
            if waited:
                log.info("shard %d: identify throttled %.2f s", self.shard_id, waited)
            self.seq = None  # a new session numbers its dispatches from READY on
            await self._send_priority(conn, self._identify_payload())
            conn.stage = "READY"
            deadline = asyncio.timeout(t.ready_timeout)
        conn.ready_deadline = deadline
        recv = ws.recv
        receive = self._receive
        async with deadline:
            while True:
                receive(conn, await recv(decode=False))

    async def _next_payload(self, conn: _Connection, ws: ClientConnection) -> Any:
        while True:
            data = conn.inflater.feed(await ws.recv(decode=False))
            if data is not None:
                try:
                    payload = orjson.loads(data)
                except orjson.JSONDecodeError:
                    raise _Signal(_Outcome(_Next.KEEP_SESSION, "undecodable payload")) from None
                return payload

    # ---- receive path (one call per WebSocket message; bench/gateway_decode_bench.py) ---
    def _receive(self, conn: _Connection, message: bytes | str) -> None:
        if conn is not self._conn:
            return  # a stale connection never touches the shard
        data = conn.feed(message)
        if data is None:
            return
        try:
            payload = _loads(data)
            op = payload["op"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise _Signal(_Outcome(_Next.KEEP_SESSION, "undecodable payload")) from None
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
                dispatch(event, data, self)
            except Exception:
                log.exception("shard %d: dispatch of %s failed", self.shard_id, event)

    def _admit(self, conn: _Connection, data: Any, seq: Any, event: Any, last: int | None) -> bool:
        """The slow path of a dispatch: session events, duplicates, gaps and wrong shapes.
        True when it is to be handled; a dropped dispatch never moves the sequence."""
        if event.__class__ is not str or seq.__class__ is not int or seq < 1:
            return self._drop("malformed dispatch (t=%s, s=%s)", _brief(event), _brief(seq))
        if event == "READY":
            if conn.accepting or conn.stage != "READY":
                return self._drop("READY out of place (s=%d)", seq)
            self._on_ready(conn, data)
            return True
        if not conn.accepting:
            return self._drop("dispatch %s before READY (s=%d)", _brief(event), seq)
        if event == "RESUMED" and conn.stage != "RESUME":
            return self._drop("RESUMED out of place (s=%d)", seq)
        if last is not None:
            if seq <= last:
                self.duplicates += 1  # replayed twice; already handled
                return False
            if seq != last + 1:
                conn.gaps += 1
                self._drop("dispatch %s with s=%d after s=%d (gap)", _brief(event), seq, last)
                if conn.gaps >= GAPS_BEFORE_RESUME:
                    log.warning("shard %d: sequence gaps: resuming to replay", self.shard_id)
                    raise _Signal(_Outcome(_Next.KEEP_SESSION, "sequence gap"))
                return False
        if event == "RESUMED":
            self._on_resumed(conn)
        return True

    def _drop(self, what: str, *args: Any) -> bool:
        self.dropped += 1
        log.warning("shard %d: dropped " + what, self.shard_id, *args)
        return False

    def _on_ready(self, conn: _Connection, data: Any) -> None:
        session_id = data.get("session_id") if isinstance(data, dict) else None
        if not isinstance(session_id, str) or not session_id:
            log.warning("shard %d: invalid READY (no session_id): identifying again", self.shard_id)
            raise _Signal(_Outcome(_Next.DROP_SESSION, "invalid READY"))
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
        log.info("shard %d: ready", self.shard_id)
        self._set_status(ShardStatus.READY)

    def _on_resumed(self, conn: _Connection) -> None:
        conn.stage = "ready"
        self._ready_at = self._clock()
        log.info("shard %d: resumed at seq %s", self.shard_id, self.seq)
        self._set_status(ShardStatus.READY)

    def _on_control(self, conn: _Connection, op: Any, data: Any) -> None:
        if op.__class__ is not int:
            op = _brief(op)  # "1" or true is no opcode: ignored below
        if op == Op.HEARTBEAT:
            conn.spawn(self._send_heartbeat(conn))
        elif op == Op.RECONNECT:
            log.info("shard %d: op 7 reconnect requested", self.shard_id)
            raise _Signal(_Outcome(_Next.KEEP_SESSION, "op 7 reconnect"))
        elif op == Op.INVALID_SESSION:
            if data is True:
                log.info("shard %d: op 9 invalid session (resumable)", self.shard_id)
                raise _Signal(_Outcome(_Next.KEEP_SESSION, "op 9 invalid session, resumable"))
            low, high = self.timings.invalid_session_wait
            wait = low + (high - low) * self._rng()
            log.info("shard %d: op 9 invalid session; identify in %.2f s", self.shard_id, wait)
            raise _Signal(
                _Outcome(_Next.DROP_SESSION, "op 9 invalid session", delay=wait, send_code=1000)
            )
        else:
            log.info("shard %d: ignored op %s", self.shard_id, _brief(op))

    # ---- sending ------------------------------------------------------------------------
    def _identify_payload(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "token": self.__token,
            "intents": self.intents,
            "properties": {
                "os": sys.platform,
                "browser": "draft-league-companion",
                "device": "draft-league-companion",
            },
            "shard": [self.shard_id, self.shard_count],
        }
        if self.presence is not None:
            d["presence"] = self.presence
        return {"op": Op.IDENTIFY, "d": d}

    def _resume_payload(self) -> dict[str, Any]:
        return {
            "op": Op.RESUME,
            "d": {"token": self.__token, "session_id": self.session_id, "seq": self.seq},
        }

    async def _send_priority(self, conn: _Connection, payload: dict[str, Any]) -> None:
        """Heartbeat / identify / resume: counted by the limiter, never queued behind it."""
        ws = conn.ws
        if ws is None or conn is not self._conn:
            return
        conn.limiter.record_priority()
        await ws.send(orjson.dumps(payload).decode())

    async def _send_heartbeat(self, conn: _Connection) -> None:
        conn.heartbeat_sent_at = asyncio.get_running_loop().time()
        conn.awaiting_ack = True
        try:
            await self._send_priority(conn, {"op": Op.HEARTBEAT, "d": self.seq})
        except ConnectionClosed:
            pass  # the receive loop reports the close

    async def _heartbeat(self, conn: _Connection, interval: float) -> None:
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
                conn.finish(_Outcome(_Next.KEEP_SESSION, "zombie connection (no heartbeat ACK)"))
                return
            await self._send_heartbeat(conn)
            due += interval
            if due < now:
                due = now + interval


def _brief(value: Any) -> str:
    """A short repr of a field the server sent, for a log line (never a whole payload)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _heartbeat_interval(hello: Any) -> float | None:
    """HELLO's heartbeat_interval in seconds; None unless a positive finite number of ms."""
    value = hello.get("heartbeat_interval") if isinstance(hello, dict) else None
    if value.__class__ not in (int, float) or not 0 < value < float("inf"):
        return None
    return float(value) / 1000.0
