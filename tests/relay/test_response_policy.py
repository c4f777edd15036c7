"""The response policy end to end (simulator -> gateway -> relay -> stand-in main app):
defer, defer-ephemeral, respond with its window, INTERACTION_POLICY overrides, and the main
app's answers as first responses (CONTRACT steps 2-4)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from gateway.simulator import factory
from tests.support.harness.main_app import MainApp
from tests.support.harness.relay_stack import ERROR_MESSAGE, Stack, relay_stack

PRIVATE_ERROR = {"type": 4, "data": {"content": ERROR_MESSAGE, "flags": 64}}
MODAL = {
    "type": 9,
    "data": {
        "custom_id": "trade:form",
        "title": "Propose a trade",
        "components": [
            {
                "type": 1,
                "components": [{"type": 4, "custom_id": "give", "label": "You give", "style": 1}],
            }
        ],
    },
}


def webhooks(stack: Stack, sent: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(method, @original or follow-up, json) of every webhook call for the interaction."""
    out = []
    for r in stack.sim.rest.requests:
        if r.path.startswith("/webhooks/") and sent["token"] in r.path:
            where = "@original" if r.path.endswith("/messages/@original") else "follow-up"
            out.append((r.method, where, r.json))
    return out


@pytest.mark.parametrize(
    ("payload", "ack"),
    [
        (factory.command(), {"type": 5, "data": {"flags": 64}}),
        (factory.component(), {"type": 5, "data": {"flags": 64}}),
        (factory.modal_submit(), {"type": 5, "data": {"flags": 64}}),
        (factory.modal_submit(from_message=True), {"type": 6}),
    ],
    ids=["command", "component", "modal-from-command", "modal-from-message"],
)
async def test_defer_ephemeral(payload: dict[str, Any], ack: dict[str, Any]) -> None:
    async with relay_stack(response_mode="defer-ephemeral") as stack:
        sent = await stack.send(payload)
        await stack.settle()
        assert stack.callbacks(sent) == [ack]
        (forward,) = stack.main.requests
        assert forward.headers["x-response-mode"] == "deferred-ephemeral"
        assert "x-response-deadline" not in forward.headers


async def test_defer_is_the_default_and_says_so() -> None:
    async with relay_stack() as stack:
        sent = await stack.send(factory.command())
        await stack.settle()
        assert stack.callbacks(sent) == [{"type": 5}]
        assert stack.main.requests[0].headers["x-response-mode"] == "deferred"


async def test_policy_overrides_by_command_name_and_longest_custom_id_prefix() -> None:
    policy = {
        "commands": {"trade": "respond", "mypicks": "defer-ephemeral"},
        "components": {"trade:": "respond", "trade:view": "defer-ephemeral"},
    }
    async with relay_stack(policy=policy, response_window_ms=300) as stack:
        trade = await stack.send(factory.command("trade"))
        mine = await stack.send(factory.command("mypicks"))
        other = await stack.send(factory.command("draft"))
        button = await stack.send(factory.component("trade:accept", message_id="601"))
        view = await stack.send(factory.component("trade:view:1", message_id="602"))
        await stack.settle(5)
        modes = {
            r.headers["x-interaction-id"]: r.headers["x-response-mode"] for r in stack.main.requests
        }
        assert modes == {
            trade["id"]: "respond",
            mine["id"]: "deferred-ephemeral",
            other["id"]: "deferred",
            button["id"]: "respond",
            view["id"]: "deferred-ephemeral",
        }
        assert stack.callbacks(mine) == [{"type": 5, "data": {"flags": 64}}]
        assert stack.callbacks(view) == [{"type": 5, "data": {"flags": 64}}]
        # respond mode, the main app's {"ok": true} has no type: it responds itself -> defer
        assert stack.callbacks(trade) == [{"type": 5}]
        assert stack.callbacks(button) == [{"type": 6}]


@pytest.mark.parametrize(
    ("payload", "answer"),
    [
        (factory.command("mypicks"), {"type": 4, "data": {"content": "Your picks", "flags": 64}}),
        (factory.command("trade"), MODAL),
        (factory.command(), {"type": 5, "data": {"flags": 64}}),
        (factory.component(), {"type": 7, "data": {"content": "Board: Blue picked"}}),
        (factory.component(), {"type": 6}),
        (factory.component(), MODAL),
        (factory.modal_submit(), {"type": 4, "data": {"content": "Trade proposed"}}),
        (factory.modal_submit(from_message=True), {"type": 7, "data": {"content": "Traded"}}),
    ],
    ids=[
        "command-4-private",
        "command-9-modal",
        "command-5",
        "component-7-update",
        "component-6",
        "component-9-modal",
        "modal-4",
        "modal-from-message-7",
    ],
)
async def test_an_answer_in_time_is_the_first_response(
    payload: dict[str, Any], answer: dict[str, Any]
) -> None:
    main = MainApp()
    main.answer(answer, delay=0.02)
    async with relay_stack(main, response_mode="respond", response_window_ms=1000) as stack:
        before = time.time()
        sent = await stack.send(payload)
        await stack.settle()
        assert stack.callbacks(sent) == [answer]  # unchanged
        assert webhooks(stack, sent) == []
        h = main.requests[0].headers
        assert h["x-response-mode"] == "respond"
        deadline = int(h["x-response-deadline"]) / 1000
        assert before + 0.9 <= deadline <= time.time() + 1.0
        assert stack.relay.stats.answers["first_response"] == 1
        assert stack.relay.stats.forwards["ok"] == 1


@pytest.mark.parametrize(
    ("payload", "answer", "defer", "delivered"),
    [
        (
            factory.command(),
            {"type": 4, "data": {"content": "Picked", "flags": 64}},
            {"type": 5},
            [("PATCH", "@original", {"content": "Picked", "flags": 0})],
        ),
        (
            factory.component(),
            {"type": 4, "data": {"content": "Only you see this", "flags": 64}},
            {"type": 6},
            [("POST", "follow-up", {"content": "Only you see this", "flags": 64})],
        ),
        (
            factory.component(),
            {"type": 7, "data": {"content": "Board updated"}},
            {"type": 6},
            [("PATCH", "@original", {"content": "Board updated"})],
        ),
        (
            factory.command(),
            MODAL,
            {"type": 5},
            [("POST", "follow-up", {"content": "Too slow, try again.", "flags": 64})],
        ),
        (factory.command(), {"type": 5}, {"type": 5}, []),
        (factory.component(), {"type": 6}, {"type": 6}, []),
    ],
    ids=["command-4", "component-4", "component-7", "late-modal", "late-5", "late-6"],
)
async def test_a_late_answer_is_delivered_after_the_defer(
    payload: dict[str, Any],
    answer: dict[str, Any],
    defer: dict[str, Any],
    delivered: list[Any],
) -> None:
    main = MainApp()
    main.answer(answer, delay=0.5)
    async with relay_stack(
        main, response_mode="respond", response_window_ms=200, late_message="Too slow, try again."
    ) as stack:
        sent = await stack.send(payload)
        await stack.settle()
        record = stack.sim.interaction(sent["id"])
        assert record is not None and record.ack_latency is not None
        assert 0.15 <= record.ack_latency < 0.45  # the defer went out at the window's end
        assert stack.callbacks(sent) == [defer]
        assert webhooks(stack, sent) == delivered
        assert all(r.status == 200 for r in stack.sim.rest.find(None, "/webhooks/*"))
        assert stack.relay.stats.answers["late"] == (1 if delivered else 0)


async def test_answers_in_defer_mode_are_delivered_as_late_ones() -> None:
    main = MainApp()
    main.answer({"type": 4, "data": {"content": "Done"}})
    async with relay_stack(main) as stack:
        sent = await stack.send(factory.command())
        await stack.settle()
        assert stack.callbacks(sent) == [{"type": 5}]
        assert webhooks(stack, sent) == [("PATCH", "@original", {"content": "Done"})]


@pytest.mark.parametrize(("delay", "in_time"), [(0.9, True), (1.3, False)])
async def test_the_windows_edge(delay: float, in_time: bool) -> None:
    answer = {"type": 4, "data": {"content": "Your picks", "flags": 64}}
    main = MainApp()
    main.answer(answer, delay=delay)
    async with relay_stack(main, response_mode="respond", response_window_ms=1000) as stack:
        sent = await stack.send(factory.command())
        await stack.settle()
        if in_time:  # 100 ms before the window ends: the first response
            assert stack.callbacks(sent) == [answer]
            assert webhooks(stack, sent) == []
        else:  # 300 ms after it: deferred at the window, then an edit
            assert stack.callbacks(sent) == [{"type": 5}]
            assert webhooks(stack, sent) == [
                ("PATCH", "@original", {"content": "Your picks", "flags": 0})
            ]


async def test_an_answer_without_type_ends_the_wait_with_the_defer_at_once() -> None:
    main = MainApp()
    main.answer({}, delay=0.05)
    async with relay_stack(main, response_mode="respond", response_window_ms=2000) as stack:
        sent = await stack.send(factory.component())
        await stack.settle()
        record = stack.sim.interaction(sent["id"])
        assert record is not None and record.ack_latency is not None
        assert record.ack_latency < 0.5  # not at the window's end (2 s)
        assert stack.callbacks(sent) == [{"type": 6}]
        assert webhooks(stack, sent) == []


@pytest.mark.parametrize(
    "answer",
    [
        {"type": 4, "data": {"content": "x" * 2001}},
        {"type": 7, "data": {"content": "a command has no message to update"}},
        {"type": 9, "data": {"title": "no custom_id, no components"}},
        {"type": 42},
    ],
    ids=["content-too-long", "7-for-a-command", "modal-without-fields", "unknown-type"],
)
async def test_an_invalid_answer_is_a_failure_told_to_the_user(answer: dict[str, Any]) -> None:
    main = MainApp()
    main.answer(answer)
    async with relay_stack(main, response_mode="respond") as stack:
        sent = await stack.send(factory.command())
        await stack.settle()
        assert stack.callbacks(sent) == [PRIVATE_ERROR]  # nothing sent yet: the first response
        assert stack.relay.stats.answers["invalid"] == 1
        assert stack.relay.stats.forwards["failed"] == 1


async def test_an_invalid_late_answer_edits_in_the_error() -> None:
    main = MainApp()
    main.answer({"type": 4, "data": {"content": "x" * 2001}})
    async with relay_stack(main) as stack:  # defer mode: acknowledged before the forward
        sent = await stack.send(factory.command())
        await stack.settle()
        assert stack.callbacks(sent) == [{"type": 5}]
        assert webhooks(stack, sent) == [("PATCH", "@original", {"content": ERROR_MESSAGE})]


async def test_discord_refusing_the_answer_gets_the_private_error() -> None:
    """Without the schema (answer_validator=None) the simulator refuses a 2,001-character
    content as Discord does (400 Invalid Form Body): the error goes out instead."""
    main = MainApp()
    main.answer({"type": 4, "data": {"content": "x" * 2001}})
    async with relay_stack(main, response_mode="respond", answer_validator=None) as stack:
        sent = await stack.send(factory.command())
        await stack.settle()
        record = stack.sim.interaction(sent["id"])
        assert record is not None
        refused, told = record.callbacks
        assert refused.status == 400 and refused.json["data"]["content"] == "x" * 2001
        assert told.json == PRIVATE_ERROR and told.status == 204
        assert stack.relay.stats.ack_outcomes["rejected"] == 1


async def test_a_500_in_respond_mode_is_the_private_error_as_first_response() -> None:
    main = MainApp()
    main.script(500)
    async with relay_stack(main, response_mode="respond") as stack:
        sent = await stack.send(factory.component())
        await stack.settle()
        assert stack.callbacks(sent) == [PRIVATE_ERROR]
        assert webhooks(stack, sent) == []
        assert stack.relay.stats.user_errors == 1


async def test_a_500_after_the_window_is_told_as_usual() -> None:
    main = MainApp()
    main.answer(status=500, delay=0.4)
    async with relay_stack(main, response_mode="respond", response_window_ms=100) as stack:
        sent = await stack.send(factory.command())
        await stack.settle()
        assert stack.callbacks(sent) == [{"type": 5}]
        assert webhooks(stack, sent) == [("PATCH", "@original", {"content": ERROR_MESSAGE})]


async def test_signers_add_their_headers_to_every_forward() -> None:
    """The hook for the Ed25519 signature: called with (timestamp, body) on every attempt."""
    seen: list[tuple[str, bytes]] = []

    def signer(timestamp: str, body: bytes) -> dict[str, str]:
        seen.append((timestamp, body))
        return {"X-Signature-Test": f"{timestamp}:{len(body)}"}

    main = MainApp()
    main.script(503)
    async with relay_stack(main, signers=[signer]) as stack:
        await stack.send(factory.command())
        await stack.settle()
        assert len(main.requests) == 2 and len(seen) == 2  # the retry is signed too
        for forward, (timestamp, body) in zip(main.requests, seen, strict=True):
            assert forward.body == body
            assert forward.headers["x-signature-timestamp"] == timestamp
            assert forward.headers["x-signature-test"] == f"{timestamp}:{len(body)}"
