"""The typed interaction, the policy, the first-response table, Discord's clock."""

from __future__ import annotations

import tracemalloc
from email.utils import formatdate
from typing import Any

import orjson
import pytest

from gateway.clock import Clocks
from gateway.interactions.model import Interaction, InteractionType, snowflake_time
from gateway.interactions.policy import Mode, ResponsePolicy, policy_problems
from gateway.interactions.server_responses import defer_for
from gateway.journal.seen import SeenIds
from gateway.rest.discord_clock import DiscordClock
from gateway.simulator import factory

# Discord's documented example: 175928847299117063 was created 2016-04-30 11:18:25.796 UTC.
EXAMPLE_ID = "175928847299117063"


def parse(obj: dict[str, Any]) -> Interaction:
    interaction = Interaction.parse(obj)
    assert interaction is not None
    return interaction


def test_snowflake_time_is_discords() -> None:
    assert snowflake_time(EXAMPLE_ID) == pytest.approx(1462015105.796)


def test_parse_reads_every_field_once() -> None:
    obj = factory.component("trade:accept", message_id="42") | {
        "id": EXAMPLE_ID,
        "token": "tok",
        "application_id": "1000",
    }
    interaction = parse(obj)
    assert interaction.type is InteractionType.MESSAGE_COMPONENT
    assert (interaction.id, interaction.token, interaction.application_id) == (
        EXAMPLE_ID,
        "tok",
        "1000",
    )
    assert interaction.custom_id == "trade:accept" and interaction.command_name is None
    assert interaction.message_id == "42" and interaction.from_message
    assert interaction.created_at == snowflake_time(EXAMPLE_ID)
    command = parse(factory.command("trade") | {"id": EXAMPLE_ID, "token": "t"})
    assert command.command_name == "trade" and command.message_id is None


@pytest.mark.parametrize(
    "obj",
    [
        {"id": EXAMPLE_ID, "token": "t", "type": 99},
        {"id": EXAMPLE_ID, "type": 2},
        {"token": "t", "type": 2},
        {"id": "not-a-number", "token": "t", "type": 2},
        ["not", "a", "dict"],
    ],
)
def test_parse_refuses_what_cannot_be_an_interaction(obj: Any) -> None:
    assert Interaction.parse(obj) is None


def test_policy_longest_prefix_and_command_names() -> None:
    policy = ResponsePolicy(
        "defer",
        {"commands": {"trade": "respond"}, "components": {"t": "respond", "trade:": "defer"}},
    )
    base = {"id": EXAMPLE_ID, "token": "t"}
    assert policy.mode_for(parse(factory.command("trade") | base)) is Mode.RESPOND
    assert policy.mode_for(parse(factory.command("draft") | base)) is Mode.DEFER
    assert policy.mode_for(parse(factory.component("trade:1") | base)) is Mode.DEFER
    assert policy.mode_for(parse(factory.component("tx") | base)) is Mode.RESPOND
    assert policy.mode_for(parse(factory.modal_submit("tm") | base)) is Mode.RESPOND


def test_policy_problems_are_all_named() -> None:
    problems = policy_problems(
        {"commands": {"a": "later", "b": "respond"}, "components": [], "other": {}}
    )
    assert problems == [
        "unknown key 'other'",
        "commands.a: must be defer, defer-ephemeral or respond",
        "components: must be an object",
    ]
    with pytest.raises(ValueError, match="INTERACTION_POLICY"):
        ResponsePolicy("defer", {"commands": {"a": "x"}})


def test_the_defer_table() -> None:
    base = {"id": EXAMPLE_ID, "token": "t"}
    command = parse(factory.command() | base)
    component = parse(factory.component() | base)
    assert defer_for(command, Mode.DEFER) == {"type": 5}
    assert defer_for(command, Mode.RESPOND) == {"type": 5}
    assert defer_for(component, Mode.DEFER) == {"type": 6}
    assert defer_for(component, Mode.DEFER_EPHEMERAL) == {"type": 5, "data": {"flags": 64}}


def test_discord_clock_follows_the_date_header() -> None:
    now = [1_000_000.0]
    clock = DiscordClock(clocks=Clocks(wall=lambda: now[0]))
    assert clock.now() == now[0]  # nothing observed: our clock
    clock.observe(formatdate(now[0] + 0.3, usegmt=True), now[0], now[0])
    # Discord's time was in [date, date + 1) as ours was now[0]: our clock may be right
    assert (clock.lower, clock.upper) == (0.0, 1.0) and clock.now() == now[0]
    clock.observe(formatdate(now[0] + 7.2, usegmt=True), now[0], now[0])
    # 7.2 s ahead now (a clock stepped): the bounds disagree, the older one is forgotten;
    # ours is out of them: Discord's time at the latest
    assert (clock.lower, clock.upper) == (7.0, 8.0) and clock.now() == now[0] + 8.0
    clock.observe(None, now[0], now[0])
    clock.observe("not a date", now[0], now[0])
    assert clock.now() == now[0] + 8.0


def test_seen_ids_forget_after_15_minutes_and_stay_bounded() -> None:
    seen = SeenIds(ttl=900, max_entries=3)
    assert seen.add("a", 0.0, 0.0) and not seen.add("a", 0.0, 10.0)
    assert seen.add("a", 0.0, 901.0)  # its token has expired
    for name in "bcd":
        seen.add(name, 900.0, 901.0)
    assert len(seen) == 3


def test_raw_holds_the_bytes_of_its_own_size() -> None:
    """orjson.dumps's bytes keep the buffer they were written in (4 KiB at least): `raw`,
    kept as long as the interaction's forward, is copied out of it."""
    obj = factory.command() | {"id": EXAMPLE_ID, "token": "tok", "application_id": "1000"}
    assert parse(obj).raw == orjson.dumps(obj)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        kept = [parse(obj).raw for _ in range(200)]
        each = (tracemalloc.get_traced_memory()[0] - before) / len(kept)
    finally:
        tracemalloc.stop()
    assert each < 1.5 * len(kept[0]) + 100, (each, len(kept[0]))
