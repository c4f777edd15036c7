"""The Discord REST client: `client` (DiscordRest: one request through its rules), `rules`
(the invalid-request budget, bucket and global pacing, 429s, retries), `ratelimit` (per-route
buckets, the global limit, the invalid-request counter), `transport` (the one response type
and the transport interface), `http_client` (every outgoing request's client: httpx on
aiohttp's pool), `errors`, `stats`."""

from gateway.rest.client import DiscordRest, DiscordRestError, new_rest_client

__all__ = ["DiscordRest", "DiscordRestError", "new_rest_client"]
