"""Sending an interaction's first response (its acknowledgement), whatever its body (a defer
from `server_responses.py`, or the main app's answer): with what is left of Discord's 3 s,
checked on Discord when its answer was unclear, counted, and journaled once Discord took it.
Where it goes (the callback route, or the HTTP answer) is the job's `responder.py`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.clock import Clocks
from gateway.interactions.job import Job
from gateway.interactions.model import CallbackType, Interaction
from gateway.interactions.responder import MAYBE_TAKEN, AckOutcome
from gateway.interactions.stats import RelayStats
from gateway.journal.interactions import Journal, JournalEntry

log = logging.getLogger("gateway.relay")

#: A first response without a clear answer is checked (GET @original) after this pause, which
#: lets a callback Discord received just in time finish, with at most CONFIRM_TIMEOUT s.
CONFIRM_DELAY = 0.2
CONFIRM_TIMEOUT = 2.0
CHOICES = CallbackType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT

#: Whether Discord holds a first response for the interaction (`delivery.first_response_taken`).
TakenCheck = Callable[[Interaction], Awaitable[bool]]


def journal_entry(job: Job) -> JournalEntry:
    """What the journal keeps of a job whose first response Discord took."""
    interaction = job.interaction
    return JournalEntry(
        interaction.id, interaction.created_at, interaction.raw, job.mode.header, job.first
    )


class Acknowledger:
    __slots__ = ("_clock", "_journal", "_sleep", "_stats", "_taken")

    def __init__(
        self,
        taken: TakenCheck,
        stats: RelayStats,
        journal: Journal,
        *,
        clocks: Clocks,
    ) -> None:
        self._taken = taken
        self._stats = stats
        self._journal = journal
        self._clock = clocks.monotonic
        self._sleep = clocks.sleep

    async def send(self, job: Job, body: dict[str, Any], *, record: bool = True) -> AckOutcome:
        """Send `body` as the job's first response with what is left of the 3 s; count it, and
        journal the job once Discord took it (`record`: a forward follows). The job is no
        longer among the acknowledgements due once the responder is done with it, before it
        is checked or journaled: forwards wait for that (job.py `PendingAcks`)."""
        outcome = await job.responder.send(body, timeout=job.ack_deadline - self._clock())
        job.due.settle()
        if outcome in MAYBE_TAKEN and body["type"] != CHOICES:  # nothing follows the choices
            outcome = await self._confirm(job, outcome)
        stats = self._stats
        stats.ack_outcomes[outcome.value] += 1
        if outcome is AckOutcome.CONFIRMED:
            outcome = AckOutcome.OK
        elif outcome is not AckOutcome.OK:
            stats.ack_failures += 1
            return outcome
        stats.ack_latency.observe(self._clock() - job.received)
        job.first = int(body["type"])
        if record:
            await self._journal.record(journal_entry(job))
        return outcome

    async def _confirm(self, job: Job, outcome: AckOutcome) -> AckOutcome:
        """The first response got no clear answer (Discord may have taken it just as the time
        ran out, or its answer was lost): ask Discord, after a moment for it to finish."""
        await self._sleep(CONFIRM_DELAY)
        try:
            async with asyncio.timeout(CONFIRM_TIMEOUT):
                taken = await self._taken(job.interaction)
        except TimeoutError:
            taken = False
        if not taken:
            return outcome
        log.warning(
            "interaction %s: first response unanswered (%s), but Discord took it",
            job.interaction.id,
            outcome,
        )
        return AckOutcome.CONFIRMED
