"""`respond` mode (CONTRACT step 2): the forward starts at once; the main app's answer is the
first response when it comes within the window, else the server defers at the window's end
and delivers the answer late. Autocomplete, always answered from the main app's choices."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from gateway.interactions.answers import read_answer
from gateway.interactions.first_response import defer_for, error_reply
from gateway.interactions.forward import parse_choices
from gateway.interactions.job import Job
from gateway.interactions.model import CallbackType
from gateway.interactions.policy import Mode
from gateway.interactions.responder import MAYBE_TAKEN, AckOutcome

if TYPE_CHECKING:
    from gateway.interactions.relay import InteractionRelay


log = logging.getLogger("gateway.relay")

#: The defer at the window's end keeps at least this much of the 3 s for its own request.
DEFER_RESERVE = 0.3


def _deadline_header(relay: InteractionRelay, job: Job, end: float) -> None:
    """X-Response-Deadline: unix ms until which an inline answer is the first response."""
    job.headers["X-Response-Deadline"] = str(
        int((relay.wall_clock() + (end - relay.clock())) * 1000)
    )


async def respond(relay: InteractionRelay, job: Job) -> str:
    interaction = job.interaction
    window_end = min(job.received + relay.window, job.ack_deadline - DEFER_RESERVE)
    _deadline_header(relay, job, window_end)
    forward = asyncio.ensure_future(
        relay.forwarder.send(interaction, relay.retry_budget, job.headers)
    )
    try:
        await asyncio.wait({forward}, timeout=max(0.0, window_end - relay.clock()))
    except asyncio.CancelledError:
        forward.cancel()
        raise
    if forward.done():
        response, retried = forward.result()
        ok = "retried_ok" if retried else "ok"
        if response is None:  # nothing sent yet: the error is the first response
            await relay.first_response(job, error_reply(relay.error_message), record=False)
            relay.stats.user_errors += 1
            return "failed"
        answer = read_answer(response.content, interaction, relay.answer_validator)
        if answer.problem is not None:
            relay.stats.answers["invalid"] += 1
            log.warning("interaction %s: invalid answer: %s", interaction.id, answer.problem)
            await relay.first_response(job, error_reply(relay.error_message), record=False)
            relay.stats.user_errors += 1
            return "failed"
        if answer.body is None:  # the main app responds itself: defer now, before it needs it
            outcome = await relay.first_response(job, defer_for(interaction, Mode.DEFER))
            return ok if outcome is AckOutcome.OK else "not_acknowledged"
        outcome = await relay.first_response(job, answer.body, record=False)
        if outcome is AckOutcome.OK:
            relay.stats.answers["first_response"] += 1
            return ok
        if outcome is AckOutcome.REJECTED:  # Discord refused the answer: say so, privately
            await relay.first_response(job, error_reply(relay.error_message), record=False)
        return "failed"
    # The window is over: defer, keep waiting, deliver the answer late.
    outcome = await relay.first_response(job, defer_for(interaction, Mode.DEFER))
    if outcome is AckOutcome.OK or outcome in MAYBE_TAKEN:
        return await relay.after_forward(job, forward)
    log.warning("interaction %s: not acknowledged (%s)", interaction.id, outcome)
    await forward  # already with the main app: let it finish, nothing can reach the user
    return "not_acknowledged"


async def autocomplete(relay: InteractionRelay, job: Job, deadline: float) -> str:
    """Forward, then answer type 8 with the main app's choices (empty when late/failing);
    `deadline` (monotonic): when the choices go out at the latest."""
    budget = deadline - relay.clock()
    _deadline_header(relay, job, deadline)
    choices: list[Any] = []
    ok = False
    retried = False
    if budget > 0:
        try:
            async with asyncio.timeout(budget):
                response, retried = await relay.forwarder.send(job.interaction, budget, job.headers)
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
    await relay.first_response(job, body, record=False)
    if not ok:
        return "failed"
    return "retried_ok" if retried else "ok"
