"""Issue 20 item 5, end to end: an interaction delivered 3.0-3.99 s after its creation (by
Discord's clock; replayed after an outage) is neither acknowledged nor forwarded (CONTRACT
step 1), while one that arrives within its 3 s still is.

The simulator stamps its answers' `Date` with its own time truncated to the second, and its
snowflakes, as Discord does. Two ways the old estimate (the mean of `date + 0.5 - received`,
taken as 0 within 0.75 s) measured ages short: answers read late (a burst of callbacks on a
busy loop; here held on their way back) pulled it 0.85 s behind clocks that agree; and with
Discord's clock SKEW ahead of ours, under 0.75 s, it stayed 0 however many answers showed the
offset. An interaction 3.05-3.5 s old then passed for 2.2-2.95 s old: called back, forwarded.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from gateway.interactions.model import DISCORD_EPOCH_MS
from gateway.simulator import factory
from tests.support.harness.relay_stack import Stack, relay_stack, until

SKEW = 0.25
STALE_AGES = (3.05, 3.2, 3.5, 3.9)


def discord_now() -> float:
    return time.time() + SKEW


def aged(obj: dict[str, Any], age: float, skew: float = SKEW) -> dict[str, Any]:
    """`obj` with an id Discord (`skew` s ahead of us) made `age` seconds ago."""
    created_ms = int((time.time() + skew - age) * 1000)
    return obj | {"id": str(((created_ms - DISCORD_EPOCH_MS) << 22) | 7)}


async def warm(stack: Stack, count: int = 12) -> None:
    """Fresh interactions through a second: their callbacks' answers bound Discord's clock to
    about a round trip (every Discord answer feeds it), which leaves our clock out."""
    for _ in range(count):
        await stack.send(factory.command())
        await asyncio.sleep(0.1)
    await stack.settle(count)


def forwarded(stack: Stack, sent: dict[str, Any]) -> bool:
    return any(r.headers["x-interaction-id"] == sent["id"] for r in stack.main.requests)


@pytest.mark.parametrize(
    ("kind", "mode"),
    [("command", "defer"), ("command", "respond"), ("autocomplete", "defer")],
)
async def test_interactions_3_to_4_s_old_on_arrival_get_nothing(kind: str, mode: str) -> None:
    make = factory.command if kind == "command" else factory.autocomplete
    async with relay_stack(sim_options={"wall_clock": discord_now}, response_mode=mode) as stack:
        await warm(stack)
        stale = [await stack.send(aged(make(), age)) for age in STALE_AGES]
        await stack.settle(12 + len(stale))
        await asyncio.sleep(0.3)  # a callback or forward would have come by now
        for sent in stale:
            record = stack.sim.interaction(sent["id"])
            assert record is not None and record.stale_on_arrival
            assert stack.callbacks(sent) == [], sent["id"]
            assert not forwarded(stack, sent), sent["id"]
        assert stack.relay.stats.admission["too_old"] == len(stale)
        assert stack.sim.rest.find("*", "/webhooks/*") == []  # no error message either


async def test_an_interaction_replayed_by_a_resume_after_its_3s_gets_nothing() -> None:
    async with relay_stack(sim_options={"wall_clock": discord_now}) as stack:
        await warm(stack)
        resumes, connections = len(stack.sim.resumes), len(stack.sim.connections)
        await stack.sim.drop_connection()
        await stack.sim.wait_for(lambda: len(stack.sim.connections) > connections, 10)
        # The client is reconnecting: Discord holds this one for its RESUME (created 3.02 s
        # ago), then replays it a few milliseconds later.
        sent = await stack.send(aged(factory.component(), 3.02))
        await until(lambda: len(stack.sim.resumes) > resumes, 10)
        await stack.settle(13)
        await asyncio.sleep(0.3)
        record = stack.sim.interaction(sent["id"])
        assert record is not None and record.written_at
        written = [
            e.kind
            for e in stack.sim.events
            if e.direction == "out" and e.kind in ("INTERACTION_CREATE", "RESUMED")
        ]
        assert written[-2:] == ["INTERACTION_CREATE", "RESUMED"]  # in the RESUME's replay
        assert record.stale_on_arrival and not record.answered_stale
        assert stack.callbacks(sent) == []
        assert not forwarded(stack, sent)
        assert stack.relay.stats.admission["too_old"] == 1


async def test_fresh_interactions_are_still_acknowledged_and_forwarded() -> None:
    """The estimate errs on the safe side, by up to a second with one answer (at start: GET
    /gateway/bot), about a round trip once requests went out through a second."""
    async with relay_stack(sim_options={"wall_clock": discord_now}) as stack:
        early = [await stack.send(aged(factory.command(), age)) for age in (0.0, 1.5)]
        await stack.settle(2)
        await warm(stack)
        clock = stack.rest.discord_clock  # bounded to a round trip: our clock is out
        assert 0.0 < clock.lower <= SKEW <= clock.upper < SKEW + 0.25
        late = [await stack.send(aged(factory.command(), age)) for age in (0.0, 2.0, 2.5)]
        await stack.settle(2 + 12 + 3)
        for sent in (*early, *late):
            record = stack.sim.interaction(sent["id"])
            assert record is not None and record.acked_at is not None, sent["id"]
            assert forwarded(stack, sent)
        assert stack.relay.stats.admission["too_old"] == 0


async def test_callback_answers_read_late_do_not_make_ages_short() -> None:
    """Clocks that agree. A burst of 16 callbacks in the middle of a second, their answers
    0.8 s on the way back (as a RESUME replay's burst read by a busy event loop); then
    interactions 3.05 and 3.5 s old arrive."""
    async with relay_stack() as stack:
        while not 0.45 <= time.time() % 1.0 < 0.55:
            await asyncio.sleep(0.005)
        stack.sim.rest.delay_answers("/interactions/*", 0.8)
        burst = [await stack.send(factory.command()) for _ in range(16)]
        await stack.settle(16)
        stack.sim.rest.delay_answers("/interactions/*", 0)
        assert all(stack.callbacks(sent) == [{"type": 5}] for sent in burst)
        stale = [await stack.send(aged(factory.command(), age, 0.0)) for age in (3.05, 3.5)]
        await stack.settle(18)
        await asyncio.sleep(0.3)
        for sent in stale:
            assert stack.callbacks(sent) == [], sent["id"]
            assert not forwarded(stack, sent), sent["id"]
        assert stack.relay.stats.admission["too_old"] == 2
        assert stack.rest.discord_clock.now() == pytest.approx(time.time(), abs=0.01)
