"""The Discord side of the server: gateway client (shards, manager) and its helpers.

`gateway` never imports `asgi_app`.
"""

from gateway.limiter import IdentifyThrottle, SendLimiter
from gateway.manager import GatewayConfig, GatewayManager
from gateway.protocol import CloseAction, Op, ShardStatus, close_rule
from gateway.session import SessionState, SessionStore
from gateway.shard import PayloadTooLarge, Shard, ShardError, ShardNotReady, ShardTimings

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
    "ShardError",
    "ShardNotReady",
    "ShardStatus",
    "ShardTimings",
    "close_rule",
]
