"""An interaction an earlier run of the server answered and did not journal (SIGKILLed between
Discord taking its first response and the journal's record): when the gateway replays it, it
is forwarded as a redelivery (`X-Redelivery: 1`) and finished, never left with Discord's
"thinking..." and nothing after it (CONTRACT step 5, "Nothing acknowledged is lost").

The earlier run is played by a callback POSTed to the simulator before the dispatch (for one
created more than 3 s ago, by the simulator's record of a defer taken back then)."""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx

from gateway.simulator import factory
from gateway.simulator.interaction_log import InteractionRecord
from gateway.user_agent import USER_AGENT
from tests.relay.test_admission import snowflake_at
from tests.support.harness.relay_stack import Stack, relay_stack, until

EARLIER_RUN = {"User-Agent": USER_AGENT}


async def answered_earlier(stack: Stack, interaction: dict[str, Any]) -> dict[str, Any]:
    """`interaction` known to Discord and deferred by an "earlier run" (not this relay): its
    callback POSTed now, or, for one created more than 3 s ago, Discord's record of a defer
    taken in time."""
    sim = stack.sim
    payload = interaction | {
        "token": "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48),
        "application_id": sim.config.application_id,
        "version": 1,
    }
    payload.setdefault("id", sim.ids.next())
    record = InteractionRecord(payload, 0)
    sim.interactions.add(record)
    if time.time() - record.created_at > 3:  # taken back then
        record.acked_at, record.ack_type, record.ack_body = sim.config.clock(), 5, {"type": 5}
        return payload
    async with httpx.AsyncClient(base_url=sim.api_base, headers=EARLIER_RUN) as client:
        taken = await client.post(
            f"/interactions/{payload['id']}/{payload['token']}/callback", json={"type": 5}
        )
    assert taken.status_code == 204, taken.text
    return payload


async def test_a_replayed_interaction_answered_by_an_earlier_run_is_forwarded_again() -> None:
    async with relay_stack() as stack:
        payload = await answered_earlier(stack, factory.command())
        await stack.sim.dispatch("INTERACTION_CREATE", payload)  # the RESUME's replay
        await stack.settle(1)
        # this run's own defer was refused (40060): the earlier run's stands
        assert [c["type"] for c in stack.callbacks(payload)] == [5, 5]
        (forward,) = stack.main.requests
        assert forward.headers["x-interaction-id"] == payload["id"]
        assert forward.headers["x-redelivery"] == "1"
        assert stack.relay.stats.forwards["ok"] == 1
        record = stack.sim.interaction(payload["id"])
        assert record is not None and record.ack_type == 5


async def test_a_late_replay_is_forwarded_when_discord_holds_a_first_response() -> None:
    """Older than 3 s on arrival (the restart took that long): too late to answer, but the
    earlier run's first response is on Discord, so it is forwarded; one without is dropped."""
    async with relay_stack() as stack:
        old = snowflake_at(time.time() - 10)
        taken = await answered_earlier(stack, factory.command() | {"id": old})
        never = await stack.send(factory.command() | {"id": snowflake_at(time.time() - 10, 2)})
        await stack.sim.dispatch("INTERACTION_CREATE", taken)
        await stack.settle(2)
        assert [r.headers["x-interaction-id"] for r in stack.main.requests] == [taken["id"]]
        assert stack.main.requests[0].headers["x-redelivery"] == "1"
        assert stack.callbacks(never) == []  # nothing sent for the one nobody answered
        assert stack.callbacks(taken) == []  # none from this run: the earlier run's stands
        assert stack.relay.stats.admission["too_old"] == 2
        assert stack.relay.stats.forwards["dropped"] == 1
        await until(lambda: stack.relay.stats.forwards["ok"] == 1, 5)


async def test_the_same_late_interaction_twice_is_forwarded_once() -> None:
    async with relay_stack() as stack:
        taken = await answered_earlier(
            stack, factory.command() | {"id": snowflake_at(time.time() - 10)}
        )
        await stack.sim.dispatch("INTERACTION_CREATE", taken)
        await stack.sim.dispatch("INTERACTION_CREATE", taken)
        await stack.settle(2)
        assert len(stack.main.requests) == 1
        assert stack.relay.stats.forwards["dropped"] == 1
