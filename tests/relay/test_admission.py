"""Admission and the acknowledgement outcome (CONTRACT steps 1 and 2): too old by Discord's
clock, replays, and first responses Discord did not take (no forward in defer mode)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from gateway.interactions.acknowledge import CONFIRM_DELAY
from gateway.interactions.model import DISCORD_EPOCH_MS, snowflake_time
from gateway.journal.interactions import JournalEntry
from gateway.simulator import factory
from tests.support.harness.relay_stack import ERROR_MESSAGE, relay_stack, until


def snowflake_at(unix: float, counter: int = 1) -> str:
    return str(((int(unix * 1000) - DISCORD_EPOCH_MS) << 22) | counter)


async def test_an_interaction_10s_old_on_arrival_gets_nothing() -> None:
    async with relay_stack() as stack:
        old = await stack.send(factory.command() | {"id": snowflake_at(time.time() - 10)})
        fresh = await stack.send(factory.command())
        await stack.settle(2)
        assert stack.callbacks(old) == []
        assert [r.headers["x-interaction-id"] for r in stack.main.requests] == [fresh["id"]]
        assert stack.relay.stats.admission["too_old"] == 1
        assert stack.relay.stats.forwards["dropped"] == 1


async def test_age_is_measured_on_discords_clock() -> None:
    """Our clock is right, Discord's is 10 s ahead: a just-created id is already too old."""
    async with relay_stack(discord_clock=lambda: time.time() + 10) as stack:
        sent = await stack.send(factory.command())
        await until(lambda: stack.relay.stats.admission["too_old"] == 1, 5)
        await asyncio.sleep(0.1)
        assert stack.callbacks(sent) == []
        assert stack.main.requests == []


async def test_the_same_interaction_twice_and_in_a_resume_replay_is_handled_once() -> None:
    async with relay_stack() as stack:
        sent = await stack.send(factory.component())
        await stack.sim.dispatch("INTERACTION_CREATE", sent)  # Discord sends it again
        await stack.settle(2)
        # the connection drops; the same interaction is buffered and replayed by the RESUME
        resumes = len(stack.sim.resumes)
        await stack.sim.drop_connection()
        await stack.sim.dispatch("INTERACTION_CREATE", sent)
        await until(lambda: len(stack.sim.resumes) > resumes, 10)
        await stack.settle(3)
        assert stack.callbacks(sent) == [{"type": 6}]  # one first response
        assert len(stack.main.requests) == 1  # one forward
        assert stack.relay.stats.admission["replay"] == 2


@pytest.mark.parametrize(
    ("code", "message", "status", "outcome"),
    [
        (10062, "Unknown interaction", 404, "unknown_interaction"),
        (40060, "Interaction has already been acknowledged.", 400, "already_acknowledged"),
    ],
)
async def test_a_refused_first_response_means_no_forward(
    code: int, message: str, status: int, outcome: str
) -> None:
    async with relay_stack() as stack:
        stack.sim.rest.inject(
            "/interactions/*/callback", status, body={"message": message, "code": code}
        )
        sent = await stack.send(factory.command())
        await stack.settle()
        record = stack.sim.interaction(sent["id"])
        assert record is not None and record.acked_at is None
        assert stack.main.requests == []
        assert stack.relay.stats.ack_outcomes[outcome] == 1
        assert stack.relay.stats.forwards["not_acknowledged"] == 1


async def test_a_first_response_timing_out_means_no_forward_and_keeps_to_3s() -> None:
    async with relay_stack() as stack:
        stack.sim.rest.set_latency("/interactions/*", 5.0)
        start = time.monotonic()
        await stack.send(factory.command())
        await stack.settle(timeout=6)
        # given what was left of the 3 s, never more: the check on Discord (GET @original)
        # leaves CONFIRM_DELAY after the cut, and everything is over soon after
        (probe,) = stack.sim.rest.find("GET", "/webhooks/*/@original")
        assert probe.at - start < 3.0 + CONFIRM_DELAY + 0.1
        assert probe.status == 404  # not taken (yet): the callback is still in the simulator
        assert time.monotonic() - start < 3.3 + CONFIRM_DELAY
        assert stack.main.requests == []
        assert stack.relay.stats.ack_outcomes["timeout"] == 1
        assert stack.relay.stats.forwards["not_acknowledged"] == 1
        # Discord may have taken it without answering in time: the error is sent anyway (it
        # reaches the user only if so; here the callback is still in the simulator: 404)
        (told,) = stack.sim.rest.find("PATCH", "/webhooks/*")
        assert told.json == {"content": ERROR_MESSAGE} and told.status == 404


async def test_the_first_response_gets_what_is_left_of_the_3s() -> None:
    """An interaction created 2.5 s ago: its callback may take 0.5 s, not 3."""
    async with relay_stack() as stack:
        stack.sim.rest.set_latency("/interactions/*", 2.0)
        start = time.monotonic()
        await stack.send(factory.command() | {"id": snowflake_at(time.time() - 2.5)})
        await stack.settle(timeout=6)
        # cut at 0.5 s: the check on Discord follows CONFIRM_DELAY later
        (probe,) = stack.sim.rest.find("GET", "/webhooks/*/@original")
        assert probe.at - start < 0.5 + CONFIRM_DELAY + 0.1
        assert time.monotonic() - start < 1.0 + CONFIRM_DELAY
        assert stack.relay.stats.ack_outcomes["timeout"] == 1
        assert stack.main.requests == []


async def test_a_callback_taken_just_as_the_time_ran_out_is_confirmed_and_forwarded() -> None:
    """Created 2.5 s ago: the callback reaches Discord in time and is taken at once, but its
    answer comes back 1 s later, after the 3 s (the request is cut at the deadline). Discord
    took it: @original says so, and the interaction is forwarded as if the answer had come,
    with no error shown."""
    async with relay_stack() as stack:
        stack.sim.rest.delay_answers("/interactions/*", 1.0)
        sent = await stack.send(factory.command() | {"id": snowflake_at(time.time() - 2.5)})
        await stack.settle(timeout=6)
        record = stack.sim.interaction(sent["id"])
        assert record is not None and record.acked_at is not None  # Discord took it
        (probe,) = stack.sim.rest.find("GET", "/webhooks/*/@original")
        assert probe.status == 200
        assert probe.at >= record.acked_at
        assert stack.relay.stats.ack_outcomes["confirmed"] == 1
        assert stack.relay.stats.ack_outcomes["timeout"] == 0
        assert [r.headers["x-interaction-id"] for r in stack.main.requests] == [sent["id"]]
        assert stack.relay.stats.forwards["ok"] == 1
        assert stack.sim.rest.find("PATCH", "/webhooks/*") == []  # no error message


async def test_a_retried_callback_answered_40060_was_ours_and_is_forwarded() -> None:
    """The first send is taken but its answer lost (the connection drops): the client sends
    again and Discord answers 40060: the earlier send was the acknowledgement."""
    async with relay_stack() as stack:
        stack.sim.rest.inject("/interactions/*/callback", None, drop=True, after=True)
        sent = await stack.send(factory.component())
        await stack.settle(timeout=6)
        record = stack.sim.interaction(sent["id"])
        assert record is not None and record.ack_type == 6
        assert [c.status for c in record.callbacks] == [None, 400]  # lost, then 40060
        assert stack.relay.stats.ack_outcomes["confirmed"] == 1
        assert stack.sim.rest.find("GET", "/webhooks/*") == []  # 40060 on a retry says it all
        assert len(stack.main.requests) == 1
        assert stack.sim.rest.find("POST", "/webhooks/*") == []


async def test_every_answer_lost_is_checked_on_discord_then_forwarded() -> None:
    """Every send of the callback is taken or refused, every answer lost (connection errors
    to the end): @original shows the acknowledgement, so the interaction goes on."""
    async with relay_stack() as stack:
        stack.sim.rest.inject("/interactions/*/callback", None, drop=True, after=True, times=5)
        sent = await stack.send(factory.command())
        await stack.settle(timeout=10)
        assert stack.relay.stats.ack_outcomes["confirmed"] == 1
        (probe,) = stack.sim.rest.find("GET", "/webhooks/*/@original")
        assert probe.status == 200
        assert [r.headers["x-interaction-id"] for r in stack.main.requests] == [sent["id"]]
        assert stack.sim.rest.find("PATCH", "/webhooks/*") == []


async def test_a_callback_never_taken_is_not_confirmed_and_not_forwarded() -> None:
    """Every send dropped before Discord handles it: @original answers 404, nothing is
    forwarded; the error message is still tried (it would show only had Discord taken it)."""
    async with relay_stack() as stack:
        stack.sim.rest.inject("/interactions/*/callback", None, drop=True, times=5)
        sent = await stack.send(factory.command())
        await stack.settle(timeout=10)
        record = stack.sim.interaction(sent["id"])
        assert record is not None and record.acked_at is None
        (probe,) = stack.sim.rest.find("GET", "/webhooks/*/@original")
        assert probe.status == 404
        assert stack.relay.stats.ack_outcomes["error"] == 1
        assert stack.relay.stats.ack_outcomes["confirmed"] == 0
        assert stack.main.requests == []
        assert stack.relay.stats.forwards["not_acknowledged"] == 1


class RecordingJournal:
    """A Journal (gateway/journal/interactions.py) in memory, recording the calls."""

    def __init__(self, known: set[str] | None = None) -> None:
        self.known = set(known or ())
        self.calls: list[tuple[str, Any]] = []

    async def claim(self, interaction_id: str, created_at: float) -> bool:
        self.calls.append(("claim", interaction_id))
        first = interaction_id not in self.known
        self.known.add(interaction_id)
        return first

    async def record(self, entry: JournalEntry) -> None:
        self.calls.append(("record", entry))

    async def finish(self, interaction_id: str) -> None:
        self.calls.append(("finish", interaction_id))

    async def pending(self) -> list[JournalEntry]:
        return []

    async def adopt(self, group: str) -> list[JournalEntry]:
        return []

    async def drop(self, interaction_id: str) -> None:
        self.calls.append(("drop", interaction_id))

    async def aclose(self) -> None:
        pass


async def test_the_journal_is_claimed_recorded_and_finished() -> None:
    journal = RecordingJournal()
    async with relay_stack(journal=journal, response_mode="defer-ephemeral") as stack:
        sent = await stack.send(factory.command())
        await stack.settle()
        claim, record, finish = journal.calls
        assert claim == ("claim", sent["id"]) and finish == ("finish", sent["id"])
        entry = record[1]
        assert entry.interaction_id == sent["id"]
        assert entry.created_at == snowflake_time(sent["id"])
        assert entry.mode == "deferred-ephemeral" and entry.first_response == 5
        assert entry.raw == stack.main.requests[0].body


async def test_an_id_the_journal_knows_is_a_replay() -> None:
    async with relay_stack() as stack:
        ident = stack.sim.ids.next()
    journal = RecordingJournal({ident})
    async with relay_stack(journal=journal) as stack:
        sent = await stack.send(factory.command() | {"id": ident})
        await stack.settle()
        assert stack.callbacks(sent) == []
        assert stack.main.requests == []
        assert stack.relay.stats.admission["replay"] == 1


async def test_redelivery_forwards_again_and_delivers_the_answer() -> None:
    async with relay_stack() as stack:
        sent = await stack.send(factory.command())
        await stack.settle()
        entry = JournalEntry(
            sent["id"], snowflake_time(sent["id"]), stack.main.requests[0].body, "deferred", 5
        )
        stack.main.answer({"type": 4, "data": {"content": "after the restart"}})
        task = stack.relay.redeliver(entry)
        assert task is not None and await task == "ok"
        again = stack.main.requests[1]
        assert again.headers["x-redelivery"] == "1"
        assert again.headers["x-interaction-id"] == sent["id"]
        assert again.body == entry.raw
        (edit,) = stack.sim.rest.find("PATCH", "/webhooks/*")
        assert edit.json == {"content": "after the restart"}
        assert len(stack.callbacks(sent)) == 1  # no second first response


@pytest.mark.parametrize("skew", [-30.0, 30.0], ids=["discord-behind", "discord-ahead"])
async def test_discords_clock_is_learnt_from_the_date_header(skew: float) -> None:
    """Discord's clock 30 s off ours: the snowflakes and the Date headers are on its clock, so
    a fresh interaction is admitted (by our clock alone, one 30 s behind would look too old)."""
    async with relay_stack(sim_options={"wall_clock": lambda: time.time() + skew}) as stack:
        assert stack.rest.discord_clock.lower <= skew <= stack.rest.discord_clock.upper
        sent = await stack.send(factory.command())
        await stack.settle()
        assert stack.callbacks(sent) == [{"type": 5}]
        assert len(stack.main.requests) == 1
        assert stack.relay.stats.admission["too_old"] == 0
        old = await stack.send(factory.command() | {"id": snowflake_at(time.time() + skew - 10)})
        await stack.settle(2)
        assert stack.callbacks(old) == []
        assert stack.relay.stats.admission["too_old"] == 1
