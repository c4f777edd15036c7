"""`respond` mode (CONTRACT step 2): the forward starts at once; the main app's answer is the
first response when it comes within the window, else the server defers at the window's end
and delivers the answer late. Autocomplete is always in this mode: answered with the main app's
choices."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from gateway.clock import Clocks
from gateway.interactions.acknowledge import Acknowledger
from gateway.interactions.delivery import UserDelivery
from gateway.interactions.forward import Forwarder, parse_choices
from gateway.interactions.job import Job
from gateway.interactions.model import CallbackType
from gateway.interactions.policy import Mode
from gateway.interactions.responder import MAYBE_TAKEN, AckOutcome
from gateway.interactions.server_responses import defer_for
from gateway.interactions.stats import RelayResult, RelayStats

log = logging.getLogger("gateway.relay")

#: The defer at the window's end keeps at least this much of the 3 s for its own request.
DEFER_RESERVE = 0.3
#: Autocomplete: the choices callback keeps this much of the 3 s for itself.
CALLBACK_RESERVE = 0.3


class RespondMode:
    """Runs the jobs whose first response may be the main app's own answer."""

    def __init__(
        self,
        forwarder: Forwarder,
        acknowledger: Acknowledger,
        delivery: UserDelivery,
        stats: RelayStats,
        *,
        window: float,
        retry_budget: float,
        autocomplete_deadline: float,
        clocks: Clocks,
    ) -> None:
        self._forwarder = forwarder
        self._ack = acknowledger
        self._delivery = delivery
        self._stats = stats
        self._window = window
        self._retry_budget = retry_budget
        self._autocomplete_deadline = autocomplete_deadline
        self._clock = clocks.monotonic
        self._wall_clock = clocks.wall

    def _deadline_header(self, job: Job, end: float) -> None:
        """X-Response-Deadline: unix ms until which an inline answer is the first response."""
        job.headers["X-Response-Deadline"] = str(
            int((self._wall_clock() + (end - self._clock())) * 1000)
        )

    async def run(self, job: Job) -> RelayResult:
        interaction = job.interaction
        window_end = min(job.received + self._window, job.ack_deadline - DEFER_RESERVE)
        self._deadline_header(job, window_end)
        forward = asyncio.ensure_future(
            self._forwarder.send(interaction, self._retry_budget, job.headers)
        )
        try:
            await asyncio.wait({forward}, timeout=max(0.0, window_end - self._clock()))
        except asyncio.CancelledError:
            forward.cancel()
            raise
        if forward.done():
            response, retried = forward.result()
            if response is None:  # nothing sent yet: the error is the first response
                await self._delivery.tell_user(job, first=True)
                return RelayResult.FAILED
            answer = await self._delivery.checked(job, response.content, first=True)
            if answer is None:
                return RelayResult.FAILED
            if answer.body is None:  # the main app responds itself: defer now, before it needs it
                outcome = await self._ack.send(job, defer_for(interaction, Mode.DEFER))
                if outcome is AckOutcome.OK:
                    return RelayResult.forwarded(retried)
                return RelayResult.NOT_ACKNOWLEDGED
            outcome = await self._ack.send(job, answer.body, record=False)
            if outcome is AckOutcome.OK:
                self._stats.answers["first_response"] += 1
                return RelayResult.forwarded(retried)
            if outcome is AckOutcome.REJECTED:  # Discord refused the answer: say so, privately
                await self._delivery.tell_user(job, first=True)
            return RelayResult.FAILED
        # The window is over: defer, keep waiting, deliver the answer late.
        outcome = await self._ack.send(job, defer_for(interaction, Mode.DEFER))
        if outcome is AckOutcome.OK or outcome in MAYBE_TAKEN:
            return await self._delivery.after_forward(job, forward)
        log.warning("interaction %s: not acknowledged (%s)", interaction.id, outcome)
        await forward  # already with the main app: let it finish, nothing can reach the user
        return RelayResult.NOT_ACKNOWLEDGED

    async def autocomplete(self, job: Job) -> RelayResult:
        """Forward, then answer type 8 with the main app's choices (empty when late/failing),
        at the latest `autocomplete_deadline` s after arrival or CALLBACK_RESERVE before the 3 s
        are over."""
        deadline = min(
            job.received + self._autocomplete_deadline, job.ack_deadline - CALLBACK_RESERVE
        )
        budget = deadline - self._clock()
        self._deadline_header(job, deadline)
        choices: list[Any] = []
        ok = False
        retried = False
        if budget > 0:
            try:
                async with asyncio.timeout(budget):
                    response, retried = await self._forwarder.send(
                        job.interaction, budget, job.headers
                    )
            except TimeoutError:
                response = None
            if response is not None:
                parsed = parse_choices(response.content)
                if parsed is None:
                    log.warning("interaction %s: autocomplete without choices", job.interaction.id)
                else:
                    choices, ok = parsed, True
        body = {
            "type": CallbackType.APPLICATION_COMMAND_AUTOCOMPLETE_RESULT,
            "data": {"choices": choices},
        }
        await self._ack.send(job, body, record=False)
        return RelayResult.forwarded(retried) if ok else RelayResult.FAILED
