"""The gateway connection: shards (and their protocol state), their manager, the protocol
table, compression, the send/identify limiters, reconnect backoff and session persistence."""

from gateway.connection.context import ShardContext
from gateway.connection.limiter import IdentifyThrottle, SendLimiter
from gateway.connection.manager import GatewayConfig, GatewayManager
from gateway.connection.protocol import CloseAction, Op, ShardStatus, close_rule
from gateway.connection.session import SessionState, SessionStore
from gateway.connection.shard import PayloadTooLarge, Shard, ShardError, ShardNotReady
from gateway.connection.state_machine import ShardState
from gateway.connection.timings import ShardTimings

__all__ = [
    "CloseAction",
    "GatewayConfig",
    "GatewayManager",
    "IdentifyThrottle",
    "Op",
    "PayloadTooLarge",
    "SendLimiter",
    "SessionState",
    "SessionStore",
    "Shard",
    "ShardContext",
    "ShardError",
    "ShardNotReady",
    "ShardState",
    "ShardStatus",
    "ShardTimings",
    "close_rule",
]
