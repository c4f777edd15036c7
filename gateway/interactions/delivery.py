"""What reaches the user once the main app answered (CONTRACT step 4): its answer checked (the
invalid-answer rule, here only) and delivered late through the interaction's webhook (no bot
token needed), or the error message told to the user: by the webhook, or as the first response
when none was sent yet (respond mode within its window)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from gateway.interactions.acknowledge import Acknowledger
from gateway.interactions.answers import Answer, AnswerValidator, late_delivery, read_answer
from gateway.interactions.job import Job
from gateway.interactions.model import EPHEMERAL, Interaction
from gateway.interactions.responder import AckOutcome
from gateway.interactions.server_responses import error_reply
from gateway.interactions.stats import RelayResult, RelayStats
from gateway.journal.interactions import Journal
from gateway.rest.client import DiscordRest
from gateway.rest.transport import RestResponse

log = logging.getLogger("gateway.relay")

#: At shutdown, how long an interaction whose forward was cut short may take to show the user
#: the error message.
SHUTDOWN_TELL_TIMEOUT = 3.0


class UserDelivery:
    """After the forward: the main app's answer to the user, or the error message."""

    def __init__(
        self,
        rest: DiscordRest,
        acknowledger: Acknowledger,
        stats: RelayStats,
        journal: Journal,
        *,
        error_message: str,
        late_message: str,
        answer_validator: AnswerValidator | None,
    ) -> None:
        self._rest = rest
        self._ack = acknowledger
        self._stats = stats
        self._journal = journal
        self._error_message = error_message
        self._late_message = late_message
        self._validator = answer_validator

    async def after_forward(
        self, job: Job, forward: Awaitable[tuple[RestResponse | None, bool]]
    ) -> RelayResult:
        """Wait for the forward of an acknowledged interaction; deliver its answer, or tell the
        user it failed."""
        try:
            response, retried = await forward
        except asyncio.CancelledError:
            # Shutdown cut the forward short (drain grace over). The user was shown "thinking"
            # by the defer: tell them it failed rather than leave it pending until it expires.
            if await self.tell_user_on_shutdown(job):
                await self._journal.finish(job.interaction.id)  # the user was told: finished
            raise
        if response is None:
            await self.tell_user(job)
            return RelayResult.FAILED
        if not await self.deliver_late(job, response.content):
            return RelayResult.FAILED
        return RelayResult.forwarded(retried)

    async def checked(self, job: Job, content: bytes, *, first: bool = False) -> Answer | None:
        """The main app's answer in a 2xx body (answers.py), or None when it is invalid: then
        it is counted and logged, and the user told (as the first response when `first`)."""
        answer = read_answer(content, job.interaction, self._validator)
        if answer.problem is None:
            return answer
        self._stats.answers["invalid"] += 1
        log.warning("interaction %s: invalid answer: %s", job.interaction.id, answer.problem)
        await self.tell_user(job, first=first)
        return None

    async def deliver_late(self, job: Job, content: bytes) -> bool:
        """Deliver the main app's answer after the first response; False when it is invalid
        (the user is told)."""
        answer = await self.checked(job, content)
        if answer is None:
            return False
        if answer.body is None or job.first is None:
            return True
        plan = late_delivery(job.interaction, job.first, answer.body, self._late_message)
        if plan is not None:
            self._stats.answers["late"] += 1
            await webhook(self._rest, job.interaction, *plan)
        return True

    async def tell_user(self, job: Job, *, first: bool = False) -> bool:
        """Show the user the error message: as the interaction's first response when `first`
        (nothing was sent yet), else through its webhook. Whether Discord took it."""
        if first:
            outcome = await self._ack.send(job, error_reply(self._error_message), record=False)
            told = outcome is AckOutcome.OK
        else:
            request = error_message_request(job.interaction, self._error_message)
            told = await webhook(self._rest, job.interaction, *request)
        if told:
            self._stats.user_errors += 1
        return told

    async def tell_user_on_shutdown(self, job: Job) -> bool:
        """Whether the user was told (else the journal keeps it for the next start)."""
        log.warning("interaction %s: forward cut short by shutdown", job.interaction.id)
        self._stats.forwards[RelayResult.FAILED] += 1
        try:
            async with asyncio.timeout(SHUTDOWN_TELL_TIMEOUT):
                return await self.tell_user(job)
        except TimeoutError:
            log.error("interaction %s: error message not sent before exit", job.interaction.id)
            return False


async def webhook(
    rest: DiscordRest, interaction: Interaction, method: str, path: str, body: dict[str, Any]
) -> bool:
    """Send one webhook request for the interaction; True when Discord took it."""
    try:
        response = await rest.request(method, path, json=body, essential=True)
    except Exception as exc:
        log.error(
            "interaction %s: %s %s failed: %s",
            interaction.id,
            method,
            _kind(path),
            type(exc).__name__,
        )
        return False
    if response.is_success:
        return True
    log.error(
        "interaction %s: %s %s answered %d", interaction.id, method, _kind(path), response.status
    )
    return False


async def first_response_taken(rest: DiscordRest, interaction: Interaction) -> bool:
    """Whether Discord holds a first response for the interaction, asked when the callback got
    no clear answer: `GET .../messages/@original` answers the response's message (after a
    deferred update, the component's message) once one was taken, 404 before."""
    path = f"/webhooks/{interaction.application_id}/{interaction.token}/messages/@original"
    try:
        response = await rest.request("GET", path, essential=True)
    except Exception as exc:
        log.error("interaction %s: GET @original failed: %s", interaction.id, type(exc).__name__)
        return False
    return response.is_success


def error_message_request(
    interaction: Interaction, message: str
) -> tuple[str, str, dict[str, Any]]:
    """Command, or modal not opened from a message: edit @original. Component, or modal opened
    from a message: an ephemeral follow-up, so the message holding the buttons is left alone."""
    base = f"/webhooks/{interaction.application_id}/{interaction.token}"
    if interaction.from_message:
        return "POST", base, {"content": message, "flags": EPHEMERAL}
    return "PATCH", base + "/messages/@original", {"content": message}


def _kind(path: str) -> str:
    return "@original" if path.endswith("@original") else "follow-up"
