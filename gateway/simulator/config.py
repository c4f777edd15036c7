"""Settings of the simulator: one frozen dataclass, every field has a test-friendly default."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

# Privileged intents: GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT.
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)
# Every bit Discord defines today (0..25); anything else is an invalid intent (4013).
KNOWN_INTENTS = (1 << 26) - 1


@dataclass(frozen=True)
class SimConfig:
    host: str = "127.0.0.1"
    gateway_port: int = 0
    rest_port: int = 0
    token: str = "simulated-bot-token"  # noqa: S105 (a stand-in, not a secret)
    application_id: str = "1000"
    bot_user_id: str = "1000"
    bot_username: str = "Simulated Bot"
    heartbeat_interval_ms: int = 41250
    shards: int = 1
    max_concurrency: int = 1
    session_start_total: int = 1000
    session_start_remaining: int = 1000
    session_start_reset_after_ms: int = 86_400_000
    allowed_privileged_intents: int = 0
    # Identify throttle: one IDENTIFY per `identify_interval` per `shard_id % max_concurrency`
    # bucket. Violations are always recorded; with `enforce_identify_rate` they get op 9 false.
    identify_interval: float = 5.0
    # READY numbered s=0, as Spacebar (a Discord-compatible server) does; Discord sends s=1.
    ready_seq_zero: bool = False
    enforce_identify_rate: bool = False
    # Client sends per connection: `send_limit` per `send_window` seconds (fixed window that
    # starts with the first send), more closes with 4008.
    send_limit: int = 120
    send_window: float = 60.0
    max_payload_bytes: int = 4096
    # Split each compressed zlib/zstd message into WebSocket messages of at most this size.
    compressed_chunk_size: int | None = None
    # Interaction callbacks later than this after the INTERACTION_CREATE was sent get 404 10062.
    interaction_ack_deadline: float = 3.0
    # Unknown interaction ids on /callback: accepted (False) or 404 Unknown interaction (True).
    strict_interactions: bool = False
    # REST global limit (requests per second with a bot token, interaction routes excluded).
    global_limit: int = 50
    global_window: float = 1.0
    enforce_global_limit: bool = True
    require_user_agent: bool = True
    close_timeout: float = 2.0
    # A connection is live while its client sent a frame within this many seconds (None: 1.5
    # heartbeat intervals); a newer RESUME/IDENTIFY on a live connection's shard is recorded
    # in `sim.takeovers` with live=True (gateway_server.py).
    live_window: float | None = None
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    seed: int | None = None
