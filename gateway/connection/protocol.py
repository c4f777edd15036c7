"""Discord gateway protocol: opcodes, statuses, timeouts and the close-code table.

This module is the ONE place that decides what a close code means (resume, identify or fatal).
"""

from __future__ import annotations

import enum
import sys
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args
from urllib.parse import urlencode, urlsplit, urlunsplit

GATEWAY_VERSION: Final = 10
ENCODING: Final = "json"
Compression = Literal["none", "zlib-stream", "zstd-stream"]
COMPRESSIONS: Final[tuple[Compression, ...]] = get_args(Compression)


class Op(enum.IntEnum):
    DISPATCH = 0
    HEARTBEAT = 1
    IDENTIFY = 2
    PRESENCE_UPDATE = 3
    VOICE_STATE_UPDATE = 4
    RESUME = 6
    RECONNECT = 7
    REQUEST_GUILD_MEMBERS = 8
    INVALID_SESSION = 9
    HELLO = 10
    HEARTBEAT_ACK = 11


class ShardStatus(enum.StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"
    IDENTIFYING = "identifying"
    RESUMING = "resuming"
    READY = "ready"
    RECONNECTING = "reconnecting"
    FAILED = "failed"


# --- timeouts and limits (named constants; a Shard takes overrides through ShardTimings) ---
CONNECT_TIMEOUT: Final = 30.0  # TCP + TLS + WebSocket handshake
HELLO_TIMEOUT: Final = 60.0  # socket open -> op 10
READY_TIMEOUT: Final = 15.0  # IDENTIFY sent -> READY
RESUME_TIMEOUT: Final = 15.0  # RESUME sent (or the last replayed dispatch) -> RESUMED
RESUME_HOST_FAILURES: Final = 2  # failed connects in a row to resume_gateway_url, then /gateway/bot
INVALID_SESSION_BACKOFF_CAP: Final = 8  # op 9 d=false in a row: the wait doubles, up to 8x
IDENTIFY_INTERVAL: Final = 5.0  # one IDENTIFY per bucket (shard_id % max_concurrency)
# Added after each IDENTIFY sent: the server measures the interval on arrival, and two
# IDENTIFYs of a bucket do not travel (or get read) equally fast. 256 shards in one loop with
# the simulator showed gaps down to 4.93 s on the server's side without it.
IDENTIFY_MARGIN: Final = 0.25
SEND_LIMIT: Final = 120  # sends per window per connection (Discord's limit)
SEND_LIMIT_ORDINARY: Final = 115  # what ordinary sends may use; the rest is for heartbeats etc.
SEND_WINDOW: Final = 60.0
MAX_PAYLOAD_BYTES: Final = 4096
BACKOFF_BASE: Final = 1.0
BACKOFF_CAP: Final = 60.0
BACKOFF_FAST_ATTEMPTS: Final = 2  # attempts allowed under 1 s apart before the 1 s floor applies
STABLE_AFTER: Final = 60.0  # a connection up this long resets the backoff
INVALID_SESSION_WAIT: Final = (1.0, 5.0)  # op 9 d=false: wait uniformly in this range
STALL_WARNING: Final = 5.0  # heartbeat sent later than due by more than this: loop stall
SESSION_MAX_AGE: Final = 180.0  # saved sessions older than this are not resumed

# WebSocket close codes (RFC 6455) that the gateway gives a meaning of its own.
CLOSE_NORMAL: Final = 1000  # from the server: the session is over; from us: the final close
CLOSE_GOING_AWAY: Final = 1001
CLOSE_NO_FRAME: Final = 1006  # never sent: the connection ended without a close frame
CLOSE_SHARDING_REQUIRED: Final = 4011
# Our own temporary closes: any non-1000/1001 code keeps the session resumable at Discord.
CLOSE_RESUMABLE: Final = 4900
CLOSE_FINAL: Final = CLOSE_NORMAL


class CloseAction(enum.Enum):
    """What a shard does when a connection ends: the one vocabulary of the close table, the
    control opcodes (op 7, op 9), timeouts and stop()."""

    RESUME = "resume"  # reconnect; resume when a session exists
    IDENTIFY = "identify"  # drop the session, reconnect with a fresh IDENTIFY
    FATAL = "fatal"  # no retry: status failed
    STOP = "stop"  # stop() asked for it


@dataclass(frozen=True, slots=True)
class CloseRule:
    action: CloseAction
    reason: str


# Codes Discord sends (4000-4014) plus the standard codes that need their own rule.
CLOSE_CODES: Final[dict[int, CloseRule]] = {
    CLOSE_NORMAL: CloseRule(CloseAction.IDENTIFY, "normal closure"),
    CLOSE_GOING_AWAY: CloseRule(CloseAction.IDENTIFY, "going away"),
    4000: CloseRule(CloseAction.RESUME, "unknown error"),
    4001: CloseRule(CloseAction.RESUME, "unknown opcode"),
    4002: CloseRule(CloseAction.RESUME, "decode error"),
    4003: CloseRule(CloseAction.IDENTIFY, "not authenticated"),
    4004: CloseRule(CloseAction.FATAL, "authentication failed"),
    4005: CloseRule(CloseAction.IDENTIFY, "already authenticated"),
    4007: CloseRule(CloseAction.IDENTIFY, "invalid seq"),
    4008: CloseRule(CloseAction.RESUME, "rate limited"),
    4009: CloseRule(CloseAction.IDENTIFY, "session timed out"),
    4010: CloseRule(CloseAction.FATAL, "invalid shard"),
    CLOSE_SHARDING_REQUIRED: CloseRule(CloseAction.FATAL, "sharding required"),
    4012: CloseRule(CloseAction.FATAL, "invalid API version"),
    4013: CloseRule(CloseAction.FATAL, "invalid intents"),
    4014: CloseRule(CloseAction.FATAL, "disallowed intents"),
}
_TRANSPORT = CloseRule(CloseAction.RESUME, "connection lost")
_UNKNOWN = CloseRule(CloseAction.RESUME, "unknown close code")


def close_rule(code: int | None) -> CloseRule:
    """What to do after the server closed with `code` (None: no close frame, CLOSE_NO_FRAME).

    Below 4000 (1006, 1011, ...) resume, except 1000/1001 from the server which end the session.
    Unknown 4xxx codes resume; a resume that Discord refuses falls back to identify (op 9).
    """
    if code is None:
        return _TRANSPORT
    rule = CLOSE_CODES.get(code)
    if rule is not None:
        return rule
    return _TRANSPORT if code < 4000 else _UNKNOWN


def gateway_url(base: str, compression: str) -> str:
    """`{base}/?v=10&encoding=json[&compress=...]`, replacing any query already on `base`."""
    if compression not in COMPRESSIONS:
        raise ValueError(f"unknown gateway compression {compression!r}")
    parts = urlsplit(base)
    query: dict[str, str | int] = {"v": GATEWAY_VERSION, "encoding": ENCODING}
    if compression != "none":
        query["compress"] = compression
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), ""))


def heartbeat_interval(hello: Any) -> float | None:
    """HELLO's heartbeat_interval in seconds; None unless a positive finite number of ms."""
    value = hello.get("heartbeat_interval") if isinstance(hello, dict) else None
    if value.__class__ not in (int, float) or not 0 < value < float("inf"):
        return None
    return float(value) / 1000.0


def identify_payload(
    token: str, intents: int, shard: tuple[int, int], presence: dict[str, Any] | None
) -> dict[str, Any]:
    d: dict[str, Any] = {
        "token": token,
        "intents": intents,
        "properties": {
            "os": sys.platform,
            "browser": "draft-league-companion",
            "device": "draft-league-companion",
        },
        "shard": list(shard),
    }
    if presence is not None:
        d["presence"] = presence
    return {"op": Op.IDENTIFY, "d": d}


def resume_payload(token: str, session_id: str | None, seq: int | None) -> dict[str, Any]:
    return {"op": Op.RESUME, "d": {"token": token, "session_id": session_id, "seq": seq}}
