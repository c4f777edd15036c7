"""The 401 rule: whether the bot token is marked invalid (gateway/rest/client.py's docstring).

A 401 to one of the server's own bot-authenticated calls is checked with `GET /users/@me`, one
check at a time, shared by every call that waits on it; only when that answers 401 too is the
token marked invalid (`failed`, `failure_reason`, the listeners told) and the call raises
`DiscordAuthFailed`. `check()` asks again and clears the mark when Discord takes the token.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import httpx

from gateway.rest.errors import DiscordAuthFailed, DiscordRestError
from gateway.rest.transport import RestResponse

log = logging.getLogger("gateway.rest")

#: The route that tells whether Discord takes the bot token (the 401 rule's check).
CHECK_PATH = "/users/@me"

#: `callback(reason)` when the bot token is marked invalid; `callback(None)` when it works again.
TokenListener = Callable[[str | None], object]
#: Sends `GET CHECK_PATH` with the bot token through the client's rules, even while the token
#: is marked invalid.
SendCheck = Callable[[], Awaitable[RestResponse]]


class TokenState:
    """The bot token's state, and the checks that change it."""

    def __init__(self, send_check: SendCheck) -> None:
        self._send_check = send_check
        # The bot token confirmed invalid (401 on a call of ours, then on GET /users/@me).
        self.failed = False
        self.failure_reason: str | None = None
        self._check: asyncio.Task[bool | None] | None = None
        self._listeners: list[TokenListener] = []

    def on_change(self, callback: TokenListener) -> TokenListener:
        self._listeners.append(callback)
        return callback

    def refusal(self) -> DiscordAuthFailed:
        """What a bot-token call raises while the token is marked invalid."""
        return DiscordAuthFailed(self.failure_reason or "the bot token is marked invalid")

    async def check(self, cause: str) -> bool | None:
        """Ask Discord whether it takes the bot token: True: it does (a mark is cleared);
        False: 401 (the token is marked invalid, the reason naming `cause`); None: no answer
        either way (unreachable, 5xx, the invalid-request budget): nothing changes."""
        try:
            response = await self._send_check()
        except (httpx.TransportError, DiscordRestError) as exc:
            log.warning(
                "discord: could not check the bot token (GET %s: %s)",
                CHECK_PATH,
                type(exc).__name__,
            )
            return None
        if response.status == 401:
            self.fail(f"Discord refused the bot token: 401 on GET {CHECK_PATH} after {cause}")
            return False
        if response.is_success:
            if self.failed:
                self.reset()
            return True
        log.warning(
            "discord: GET %s answered %d: the bot token's state is unchanged",
            CHECK_PATH,
            response.status,
        )
        return None

    async def confirm(self, cause: str) -> bool | None:
        """`check(cause)`, one at a time: a check already under way (for a burst of 401s, or
        a gateway close 4004) is waited for instead of sending another."""
        check = self._check
        if check is None or check.done():
            check = self._check = asyncio.ensure_future(self.check(cause))
        # shielded: a caller that gives up does not cancel the check the others wait on
        return await asyncio.shield(check)

    async def after_own_401(self, route_key: str) -> None:
        """The 401 rule for one of the server's own calls: raise `DiscordAuthFailed` when the
        token is (or, checked now, turns out to be) invalid; else the 401 is the answer."""
        if not self.failed:
            await self.confirm(f"a 401 on {route_key}")
        if self.failed:
            raise self.refusal()
        log.warning("discord %s: 401, but GET %s works: the token stands", route_key, CHECK_PATH)

    def fail(self, reason: str) -> None:
        changed = not self.failed
        self.failed = True
        self.failure_reason = reason
        if changed:
            log.error(
                "discord: %s; calls with the bot token stop until POST /discord finds it working",
                reason,
            )
            self._tell(reason)

    def reset(self) -> None:
        """Allow bot-token calls again (`check()` calls it when Discord takes the token)."""
        if not self.failed:
            return
        self.failed = False
        self.failure_reason = None
        log.info("discord: the bot token works again")
        self._tell(None)

    def _tell(self, reason: str | None) -> None:
        for listener in self._listeners:
            try:
                listener(reason)
            except Exception:
                log.exception("discord: token state listener failed")
