"""The first response as the HTTP answer to Discord's POST (HttpAnswerResponder): the route's
side (answer(), sent()) driven here as POST /interactions will drive it."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.interactions.model import Interaction
from gateway.interactions.responder import AckOutcome, HttpAnswerResponder
from gateway.simulator import factory
from tests.support.harness.main_app import MainApp
from tests.support.harness.relay_stack import relay_stack


def fresh(stack: Any, obj: dict[str, Any]) -> Interaction:
    interaction = Interaction.parse(
        obj | {"id": stack.sim.ids.next(), "token": "tok", "application_id": "1000"}
    )
    assert interaction is not None
    return interaction


async def test_the_main_apps_answer_is_the_http_answer_in_respond_mode() -> None:
    answer = {"type": 4, "data": {"content": "Your picks", "flags": 64}}
    main = MainApp()
    main.answer(answer, delay=0.02)
    async with relay_stack(main, response_mode="respond") as stack:
        responder = HttpAnswerResponder()
        task = stack.relay.submit(fresh(stack, factory.command()), responder)
        assert task is not None
        body = await responder.answer(3.0)  # the route waits for its HTTP answer
        assert body == answer
        responder.sent(True)
        assert await task == "ok"
        assert stack.sim.rest.find("POST", "/interactions/*") == []  # no callback request
        assert stack.relay.stats.ack_outcomes["ok"] == 1


async def test_the_defer_is_the_http_answer_in_defer_mode() -> None:
    async with relay_stack() as stack:
        responder = HttpAnswerResponder()
        task = stack.relay.submit(fresh(stack, factory.component()), responder)
        assert task is not None
        assert await responder.answer(3.0) == {"type": 6}
        responder.sent(True)
        assert await task == "ok"
        assert len(stack.main.requests) == 1


async def test_an_answer_never_written_is_a_timeout_and_no_forward() -> None:
    async with relay_stack() as stack:
        responder = HttpAnswerResponder()
        interaction = fresh(stack, factory.command())
        task = stack.relay.submit(interaction, responder)
        assert task is not None
        assert await responder.answer(3.0) == {"type": 5}
        # the route never calls sent(): the first response times out within the 3 s
        assert await asyncio.wait_for(task, 4) == "not_acknowledged"
        assert stack.relay.stats.ack_outcomes[AckOutcome.TIMEOUT.value] == 1
        assert stack.main.requests == []


async def test_no_time_left_means_no_http_answer() -> None:
    """The relay found nothing left of the 3 s when the first response was due (measured at
    that moment): the route gets no answer to write, as the callback route sends nothing."""
    responder = HttpAnswerResponder()
    assert await responder.send({"type": 5}, timeout=0.0) is AckOutcome.TIMEOUT
    assert await responder.answer(0.05) is None
