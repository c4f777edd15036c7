"""ShardTimings: every timing of a shard in one place; the defaults are the protocol's."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.connection.protocol import (
    BACKOFF_BASE,
    BACKOFF_CAP,
    BACKOFF_FAST_ATTEMPTS,
    CONNECT_TIMEOUT,
    HELLO_TIMEOUT,
    IDENTIFY_INTERVAL,
    INVALID_SESSION_WAIT,
    READY_TIMEOUT,
    RESUME_TIMEOUT,
    SEND_LIMIT,
    SEND_LIMIT_ORDINARY,
    SEND_WINDOW,
    STABLE_AFTER,
    STALL_WARNING,
)


@dataclass(frozen=True, slots=True)
class ShardTimings:
    """Every timing of a shard; the defaults are the protocol constants, tests shrink them."""

    connect_timeout: float = CONNECT_TIMEOUT
    hello_timeout: float = HELLO_TIMEOUT
    ready_timeout: float = READY_TIMEOUT
    resume_timeout: float = RESUME_TIMEOUT
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
    identify_interval: float = IDENTIFY_INTERVAL  # per shard_id % max_concurrency bucket
    checkpoint_interval: float | None = None  # sessions checkpointed; None: every heartbeat
    # websockets' own keepalive; its timeout closes with 1011, which we resume from.
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    close_timeout: float = 5.0
