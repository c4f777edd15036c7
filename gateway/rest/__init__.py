"""The Discord REST client: `client` (DiscordRest and its rules), `ratelimit` (per-route
buckets, the global limit, the invalid-request budget), `http1` (the keep-alive HTTP/1.1
transport of the interaction callbacks), `stats`."""

from gateway.rest.client import DiscordRest, DiscordRestError, new_rest_client

__all__ = ["DiscordRest", "DiscordRestError", "new_rest_client"]
