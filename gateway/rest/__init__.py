"""The Discord REST client: `client` (DiscordRest: one request through its rules), `rules`
(the invalid-request budget, bucket and global pacing, 429s, retries), `ratelimit` (per-route
buckets, the global limit, the invalid-request counter), `transport` (the one response type
and the transport interface, with the httpx transport), `http1` (the keep-alive HTTP/1.1
transport of the interaction callbacks), `errors`, `stats`."""

from gateway.rest.client import DiscordRest, DiscordRestError, new_rest_client

__all__ = ["DiscordRest", "DiscordRestError", "new_rest_client"]
