"""A Discord stand-in on loopback: gateway WebSocket + REST routes, with fault injection.

Used by tests, benchmarks and development mode; see README.md in this folder."""

from gateway.simulator import factory
from gateway.simulator.config import SimConfig
from gateway.simulator.connection import SimConnection
from gateway.simulator.gateway_server import NoConnectionError, NoSessionError
from gateway.simulator.interaction_log import InteractionRecord
from gateway.simulator.recording import GatewayEvent
from gateway.simulator.rest_api import Reply, RestRequest
from gateway.simulator.sessions import Session
from gateway.simulator.simulator import DiscordSimulator

__all__ = [
    "DiscordSimulator",
    "GatewayEvent",
    "InteractionRecord",
    "NoConnectionError",
    "NoSessionError",
    "Reply",
    "RestRequest",
    "Session",
    "SimConfig",
    "SimConnection",
    "factory",
]
