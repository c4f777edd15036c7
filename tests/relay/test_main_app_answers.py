"""Answers of the main app over 1 MiB are failed attempts, cut short (CONTRACT.md, v3 "Bodies"):
the relay wired as the app wires it (tests/support/harness/relay_stack.py) against a main app that
answers far too much (tests/support/harness/huge_answers.py) or exactly up to the limit."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.interactions.forward import MAX_ANSWER_BYTES
from gateway.simulator import factory
from tests.support.harness.huge_answers import MIB, MODES, HugeAnswers
from tests.support.harness.main_app import MainApp
from tests.support.harness.relay_stack import ERROR_MESSAGE, FORWARD_PATH, relay_stack


def _told(stack: Any, interaction: dict[str, Any]) -> list[Any]:
    token = interaction["token"]
    return [
        r for r in stack.sim.rest.requests if r.path.startswith("/webhooks/") and token in r.path
    ]


def _sized(document: dict[str, Any], size: int) -> bytes:
    """`document` with a "pad" string making its JSON exactly `size` bytes."""
    bare = orjson.dumps({**document, "pad": ""})
    return orjson.dumps({**document, "pad": "p" * (size - len(bare))})


def test_the_limit_is_one_mib() -> None:
    assert MAX_ANSWER_BYTES == MIB == 1_048_576


@pytest.mark.parametrize("mode", MODES)
async def test_a_huge_answer_is_a_failed_attempt_and_the_user_is_told(mode: str) -> None:
    huge = HugeAnswers(modes=(mode,), hold=15)
    async with huge as base, relay_stack(forward_base=base, forward_timeout=5.0) as stack:
        sent = await stack.send(factory.command("draft"))
        await stack.settle(timeout=20)
        assert stack.callbacks(sent) == [{"type": 5}]
        (told,) = _told(stack, sent)
        assert (told.method, told.json) == ("PATCH", {"content": ERROR_MESSAGE})
        assert stack.relay.stats.forwards["failed"] == 1
        # each attempt was cut by the relay well before the 5 s attempt timeout, and retried
        # like a garbled answer (the same interaction id each time)
        assert huge.requests == 3 and stack.relay.stats.retries == 2
        assert all(a.cut_by_client and a.seconds < 3 for a in huge.answered), huge.answered
        assert all(a.path == FORWARD_PATH + "/command" for a in huge.answered)
        assert max(a.written for a in huge.answered) < 32 * MIB


async def test_an_autocomplete_answer_of_exactly_1_mib_is_used_and_one_byte_more_is_not() -> None:
    choices = [{"name": "Pikachu", "value": "pikachu"}]
    main = MainApp()
    main.answer(_sized({"choices": choices}, MIB))
    main.answer(_sized({"choices": choices}, MIB + 1))
    async with relay_stack(main) as stack:
        first = await stack.send(factory.autocomplete())
        await stack.settle(1)
        assert stack.callbacks(first) == [{"type": 8, "data": {"choices": choices}}]
        second = await stack.send(factory.autocomplete())
        await stack.settle(2)
        assert stack.callbacks(second) == [{"type": 8, "data": {"choices": []}}]
        assert len(main.requests) >= 2
        assert stack.relay.stats.forwards["ok"] == 1
        assert stack.relay.stats.forwards["failed"] == 1


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("defer", ("PATCH", {"content": ERROR_MESSAGE})),
        ("respond", None),
    ],
)
async def test_an_answer_nested_past_64_levels_is_invalid_and_the_user_is_told(
    mode: str, error: tuple[str, dict[str, Any]] | None
) -> None:
    """Its unknown keys would go on to Discord, and a document that deep cannot be written
    again (orjson stops at 255 levels): an invalid answer, like one failing the schema."""
    deep = b"[" * 300 + b"1" + b"]" * 300
    main = MainApp()
    main.answer(b'{"type": 4, "data": {"content": "x", "extra": ' + deep + b"}}")
    async with relay_stack(main, response_mode=mode) as stack:
        sent = await stack.send(factory.command("draft"))
        await stack.settle()
        assert stack.relay.stats.forwards["failed"] == 1
        told = [(r.method, r.json) for r in _told(stack, sent) if r.method != "GET"]
        if error is not None:
            assert stack.callbacks(sent) == [{"type": 5}]
            assert told == [error]
        else:  # respond mode: the private error is the first response itself
            assert stack.callbacks(sent) == [
                {"type": 4, "data": {"content": ERROR_MESSAGE, "flags": 64}}
            ]
