"""What the REST client raises instead of answering."""

from __future__ import annotations

from collections.abc import Mapping


class DiscordRestError(Exception):
    """A request this client refused or could not complete."""


class DiscordAuthFailed(DiscordRestError):
    """The bot token is marked invalid (a 401 on a call of ours, then on GET /users/@me): calls
    with it stop until a check finds it working (POST /discord)."""

    #: Retrying does not help until someone acts: GET /gateway/bot's retry loop gives up on it
    #: (gateway/connection reads this attribute; it does not import gateway/rest).
    permanent = True


class InvalidRequestBudget(DiscordRestError):
    """Too many 401/403/429 answers in the last 10 minutes: request refused locally."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after  # seconds until the budget has room again


class RateLimitWait(DiscordRestError):
    """The request would wait longer than its `max_wait` for a rate limit: not sent.

    `headers` are Discord's rate-limit headers as this client knows them (Retry-After,
    X-RateLimit-*), so a caller can answer as Discord would."""

    def __init__(self, retry_after: float, is_global: bool, headers: Mapping[str, str]) -> None:
        super().__init__(f"a rate limit asks for {retry_after:.3f}s of waiting")
        self.retry_after = retry_after
        self.is_global = is_global
        self.headers = dict(headers)
