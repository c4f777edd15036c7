"""The endpoint's answer leaves within Discord's 3 s even when the pipeline is slow, and the
pipeline then treats its first response as failed (nothing forwarded)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from asgi_app.http import HTTPError
from asgi_app.routes.interactions import ANSWER_MARGIN, ANSWER_WINDOW, answer_discord_post
from gateway.interactions.model import Interaction
from gateway.journal.interactions import JournalEntry
from gateway.simulator import factory
from gateway.simulator.snowflake import Snowflakes
from tests.support.harness.relay_stack import relay_stack, until


class ClaimingJournal:
    """A journal whose claim takes `delay` seconds (a slow store) and answers `first`."""

    def __init__(self, delay: float, first: bool = True) -> None:
        self.delay = delay
        self.first = first
        self.recorded: list[JournalEntry] = []
        self.finished: list[str] = []

    async def claim(self, interaction_id: str, created_at: float) -> bool:
        await asyncio.sleep(self.delay)
        return self.first

    async def record(self, entry: JournalEntry) -> None:
        self.recorded.append(entry)

    async def finish(self, interaction_id: str) -> None:
        self.finished.append(interaction_id)

    async def pending(self) -> list[JournalEntry]:
        return []

    async def drop(self, interaction_id: str) -> None:
        pass

    async def aclose(self) -> None:
        pass


def fresh(ids: Snowflakes, payload: dict[str, Any]) -> Interaction:
    payload = payload | {
        "id": ids.next(),
        "token": "t" * 60,
        "application_id": "1000",
    }
    interaction = Interaction.parse(payload)
    assert interaction is not None
    return interaction


async def test_a_stalled_pipeline_is_answered_503_before_3s_and_not_forwarded() -> None:
    journal = ClaimingJournal(delay=4.0)
    async with relay_stack(application_id="1000", journal=journal) as stack:
        interaction = fresh(stack.sim.ids, factory.command("draft"))
        received = time.monotonic()
        with pytest.raises(HTTPError) as refused:
            await answer_discord_post(stack.relay, interaction, received)
        took = time.monotonic() - received
        assert refused.value.status == 503
        assert ANSWER_WINDOW - ANSWER_MARGIN - 0.05 < took < ANSWER_WINDOW
        await until(lambda: stack.relay.stats.forwards["not_acknowledged"] == 1, 5)
        assert stack.main.requests == []
        assert journal.recorded == []


async def test_journaled_before_is_a_409_at_once() -> None:
    journal = ClaimingJournal(delay=0.0, first=False)
    async with relay_stack(application_id="1000", journal=journal) as stack:
        interaction = fresh(stack.sim.ids, factory.component("pick:1"))
        received = time.monotonic()
        with pytest.raises(HTTPError) as refused:
            await answer_discord_post(stack.relay, interaction, received)
        assert refused.value.status == 409
        assert time.monotonic() - received < 1.0
        assert stack.main.requests == []
