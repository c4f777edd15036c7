"""The first response: where it goes (Discord's callback route, or the HTTP answer to
Discord's POST) and what became of it (`AckOutcome`)."""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum
from typing import Any, Protocol

import orjson

from gateway.interactions.model import Interaction
from gateway.rest.client import DiscordRest

log = logging.getLogger("gateway.relay")

UNKNOWN_INTERACTION = 10062
ALREADY_ACKNOWLEDGED = 40060


class AckOutcome(StrEnum):
    OK = "ok"
    TIMEOUT = "timeout"
    UNKNOWN_INTERACTION = "unknown_interaction"  # 10062: too late, or not Discord's
    ALREADY_ACKNOWLEDGED = "already_acknowledged"  # 40060
    REJECTED = "rejected"  # another 4xx (e.g. 400 Invalid Form Body)
    ERROR = "error"  # 5xx, connection errors, the REST client refusing
    #: No clear answer (TIMEOUT, ERROR, or 40060 to a retried send), then Discord showed that it
    #: had taken the first response: it counts as OK.
    CONFIRMED = "confirmed"


#: Outcomes after which Discord may still have taken the first response (no answer in time, a
#: 5xx, the connection lost): what follows is sent anyway; it reaches the user only if so.
MAYBE_TAKEN = frozenset({AckOutcome.TIMEOUT, AckOutcome.ERROR})


class FirstResponder(Protocol):
    async def send(self, body: dict[str, Any], *, timeout: float) -> AckOutcome:  # noqa: ASYNC109
        """Send `body` as the interaction's first response, taking at most `timeout` s."""
        ...


def outcome_of(status: int, content: bytes) -> AckOutcome:
    """What a callback's HTTP answer means."""
    if 200 <= status < 300:
        return AckOutcome.OK
    if 400 <= status < 500:
        try:
            code = orjson.loads(content).get("code")
        except (orjson.JSONDecodeError, AttributeError):
            code = None
        if code == UNKNOWN_INTERACTION:
            return AckOutcome.UNKNOWN_INTERACTION
        if code == ALREADY_ACKNOWLEDGED:
            return AckOutcome.ALREADY_ACKNOWLEDGED
        return AckOutcome.REJECTED
    return AckOutcome.ERROR


class CallbackResponder:
    """The gateway path: `POST /interactions/{id}/{token}/callback` through DiscordRest."""

    __slots__ = ("_interaction", "_rest")

    def __init__(self, rest: DiscordRest, interaction: Interaction) -> None:
        self._rest = rest
        self._interaction = interaction

    async def send(self, body: dict[str, Any], *, timeout: float) -> AckOutcome:  # noqa: ASYNC109
        interaction = self._interaction
        if timeout <= 0:
            return AckOutcome.TIMEOUT
        path = f"/interactions/{interaction.id}/{interaction.token}/callback"
        try:
            async with asyncio.timeout(timeout):
                response = await self._rest.request("POST", path, json=body, essential=True)
        except TimeoutError:
            return AckOutcome.TIMEOUT
        except Exception as exc:
            log.error("interaction %s: callback failed: %s", interaction.id, type(exc).__name__)
            return AckOutcome.ERROR
        status = response.status
        outcome = outcome_of(status, response.content)
        if outcome is AckOutcome.ALREADY_ACKNOWLEDGED and response.attempts > 1:
            # an earlier send of this very callback reached Discord; its answer was lost
            log.warning("interaction %s: callback taken by an earlier attempt", interaction.id)
            return AckOutcome.CONFIRMED
        if outcome is not AckOutcome.OK:
            log.error("interaction %s: callback answered %d (%s)", interaction.id, status, outcome)
        return outcome


class HttpAnswerResponder:
    """The HTTP endpoint path: the first response is the answer to Discord's POST.

    The route awaits `answer()` and writes what it returns as its HTTP response, then calls
    `sent(ok)`; `send()` (the relay) returns once that is done, or TIMEOUT after `timeout`.
    """

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self._answer: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._sent: asyncio.Future[bool] = loop.create_future()

    async def send(self, body: dict[str, Any], *, timeout: float) -> AckOutcome:  # noqa: ASYNC109
        if self._answer.done():
            return AckOutcome.ALREADY_ACKNOWLEDGED
        if timeout <= 0:  # nothing left of the 3 s: no answer (as the callback route sends none)
            return AckOutcome.TIMEOUT
        self._answer.set_result(body)
        try:
            async with asyncio.timeout(timeout):
                ok = await asyncio.shield(self._sent)
        except TimeoutError:
            return AckOutcome.TIMEOUT
        return AckOutcome.OK if ok else AckOutcome.ERROR

    async def answer(self, timeout: float) -> dict[str, Any] | None:  # noqa: ASYNC109
        """The body to answer Discord's POST with, or None when the relay gave none in time."""
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(self._answer)
        except TimeoutError:
            return None

    def sent(self, ok: bool) -> None:
        """The route wrote the answer (True) or could not (False)."""
        if not self._sent.done():
            self._sent.set_result(ok)
