"""The interaction relay end to end: simulator gateway -> GatewayManager -> relay -> simulator
REST (acknowledgements, error messages) and a stand-in main app on loopback (forwards)."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

import orjson
import pytest

from gateway.clock import Clocks
from gateway.delivery.signatures import verify_signature
from gateway.interactions.model import Interaction
from gateway.interactions.server_responses import COOLDOWN_MESSAGE
from gateway.simulator import factory
from tests.support.harness.main_app import MainApp
from tests.support.harness.relay_stack import (
    AUTH,
    ERROR_MESSAGE,
    FORWARD_PATH,
    garbage_server,
    nobody_listens,
    relay_stack,
    until,
)


def _webhook_calls(stack: Any, interaction: dict[str, Any]) -> list[Any]:
    token = interaction["token"]
    return [
        r for r in stack.sim.rest.requests if r.path.startswith("/webhooks/") and token in r.path
    ]


@pytest.mark.parametrize(
    ("payload", "ack", "route"),
    [
        (factory.command(), {"type": 5}, "/command"),
        (factory.component(), {"type": 6}, "/component"),
        (factory.modal_submit(from_message=True), {"type": 6}, "/modal"),
        (factory.modal_submit(), {"type": 5}, "/modal"),
    ],
    ids=["command", "component", "modal-from-message", "modal-from-command"],
)
async def test_acknowledged_then_forwarded_exactly_and_signed(
    payload: dict[str, Any], ack: dict[str, Any], route: str
) -> None:
    async with relay_stack() as stack:
        before = int(time.time())
        sent = await stack.send(payload)
        await stack.settle()
        assert stack.callbacks(sent) == [ack]
        record = stack.sim.interaction(sent["id"])
        assert record is not None and record.ack_type == ack["type"]
        (forward,) = stack.main.requests
        assert forward.path == FORWARD_PATH + route
        assert orjson.loads(forward.body) == sent  # the interaction as Discord sent it
        h = forward.headers
        assert h["content-type"] == "application/json"
        assert "authorization" not in h  # the signatures prove it (CONTRACT.md, v3)
        assert h["x-interaction-id"] == sent["id"]
        assert before <= int(h["x-signature-timestamp"]) <= int(time.time())
        assert verify_signature(
            AUTH, h["x-signature-timestamp"], forward.body, h["x-signature-sha256"]
        )
        assert not verify_signature(
            "another-secret", h["x-signature-timestamp"], forward.body, h["x-signature-sha256"]
        )
        assert not verify_signature(
            AUTH, h["x-signature-timestamp"], forward.body + b" ", h["x-signature-sha256"]
        )
        # the acknowledgement reached Discord before the forward reached the main app
        assert record.acked_at is not None and record.callbacks[0].at <= forward.at
        assert stack.relay.stats.forwards["ok"] == 1
        assert _webhook_calls(stack, sent) == []
        assert stack.relay.stats.ack_latency.count == 1


async def test_the_forward_body_is_the_raw_bytes_when_given() -> None:
    async with relay_stack() as stack:
        ident = stack.sim.ids.next()  # a fresh snowflake: an old id is refused at admission
        interaction = {"id": ident, "token": "t", "type": 2, "application_id": "1000", "x": 1.50}
        raw = b'{"id":"%s","token":"t","type":2,"application_id":"1000","x":1.50}' % ident.encode()
        await stack.relay.handle(interaction, None, raw=raw)
        await stack.settle()
        assert stack.main.requests[0].body == raw  # byte for byte (1.50, key order, spacing)
        h = stack.main.requests[0].headers
        assert verify_signature(AUTH, h["x-signature-timestamp"], raw, h["x-signature-sha256"])


async def test_autocomplete_answered_with_the_main_apps_choices() -> None:
    choices = [{"name": "Pikachu", "value": "pikachu"}, {"name": "Pichu", "value": "pichu"}]
    main = MainApp(body=orjson.dumps({"choices": choices}))
    async with relay_stack(main) as stack:
        sent = await stack.send(factory.autocomplete())
        await stack.settle()
        assert stack.callbacks(sent) == [{"type": 8, "data": {"choices": choices}}]
        assert main.requests[0].path == FORWARD_PATH + "/autocomplete"
        assert stack.relay.stats.forwards["ok"] == 1


@pytest.mark.parametrize("case", ["slow", "garbage", "500", "down"])
async def test_autocomplete_gets_empty_choices_within_the_window(case: str) -> None:
    main = MainApp(delay=4.0 if case == "slow" else 0.0, body=b"<html>not json</html>")
    if case == "500":
        main.script(500)
    forward_base = nobody_listens() if case == "down" else None
    async with relay_stack(main, forward_base=forward_base) as stack:
        sent = await stack.send(factory.autocomplete())
        await stack.settle()
        assert stack.callbacks(sent) == [{"type": 8, "data": {"choices": []}}]
        record = stack.sim.interaction(sent["id"])
        assert record is not None and record.ack_latency is not None
        assert record.ack_latency < 3.0
        if case == "slow":
            assert record.ack_latency >= 2.4  # waited for the main app up to the deadline
        assert stack.relay.stats.forwards["failed"] == 1
        assert _webhook_calls(stack, sent) == []


async def test_main_app_503_then_200_is_retried_with_the_same_interaction_id() -> None:
    main = MainApp()
    main.script(503)
    async with relay_stack(main) as stack:
        sent = await stack.send(factory.command())
        await stack.settle()
        assert [r.headers["x-interaction-id"] for r in main.requests] == [sent["id"]] * 2
        assert main.requests[0].body == main.requests[1].body
        assert stack.relay.stats.forwards["retried_ok"] == 1
        assert stack.relay.stats.retries == 1
        assert _webhook_calls(stack, sent) == []


@pytest.mark.parametrize("status", [500, 400, 404])
async def test_other_errors_are_not_retried_and_the_user_is_told(status: int) -> None:
    main = MainApp()
    main.script(status)
    async with relay_stack(main) as stack:
        sent = await stack.send(factory.command())
        await stack.settle()
        assert len(main.requests) == 1
        (edit,) = _webhook_calls(stack, sent)
        assert edit.method == "PATCH"
        assert edit.path == f"/webhooks/{sent['application_id']}/{sent['token']}/messages/@original"
        assert edit.json == {"content": ERROR_MESSAGE}
        assert edit.status == 200
        assert stack.relay.stats.forwards["failed"] == 1
        assert stack.relay.stats.user_errors == 1


@pytest.mark.parametrize("case", ["down", "slow", "502", "garbage"])
async def test_command_failing_three_times_edits_the_original(case: str) -> None:
    main = MainApp(delay=1.0 if case == "slow" else 0.0)
    if case == "502":
        main.script(502, 502, 502, 200)
    async with garbage_server() as garbage:
        forward_base = {"down": nobody_listens(), "garbage": garbage}.get(case)
        async with relay_stack(main, forward_base=forward_base, forward_timeout=0.2) as stack:
            sent = await stack.send(factory.command())
            await stack.settle()
            record = stack.sim.interaction(sent["id"])
            assert record is not None and record.ack_type == 5
            (edit,) = _webhook_calls(stack, sent)
            assert (edit.method, edit.json) == ("PATCH", {"content": ERROR_MESSAGE})
            assert edit.path.endswith("/messages/@original")
            if case in ("slow", "502"):
                assert len(main.requests) == 3  # three attempts, then no more
            assert stack.relay.stats.retries == 2
            assert stack.relay.stats.forwards["failed"] == 1


async def test_component_failure_sends_an_ephemeral_follow_up_and_leaves_the_buttons() -> None:
    main = MainApp()
    main.script(500)
    async with relay_stack(main) as stack:
        sent = await stack.send(factory.component())
        await stack.settle()
        (follow_up,) = _webhook_calls(stack, sent)
        assert follow_up.method == "POST"
        assert follow_up.path == f"/webhooks/{sent['application_id']}/{sent['token']}"
        assert follow_up.json == {"content": ERROR_MESSAGE, "flags": 64}
        assert follow_up.status == 200
        # the message that holds the buttons is never edited
        assert not [r for r in stack.sim.rest.requests if r.method == "PATCH"]
        assert not stack.sim.rest.find("PATCH", "/channels/*")


async def test_modal_from_a_message_failure_leaves_that_message_alone() -> None:
    main = MainApp()
    main.script(500)
    async with relay_stack(main) as stack:
        sent = await stack.send(factory.modal_submit(from_message=True))
        await stack.settle()
        (follow_up,) = _webhook_calls(stack, sent)
        assert (follow_up.method, follow_up.json) == (
            "POST",
            {"content": ERROR_MESSAGE, "flags": 64},
        )


async def test_all_attempts_stay_within_the_retry_budget() -> None:
    main = MainApp(delay=5.0)
    async with relay_stack(main, forward_timeout=0.4, retry_budget=0.6) as stack:
        start = time.monotonic()
        sent = await stack.send(factory.command())
        await stack.settle()
        elapsed = time.monotonic() - start
        assert 1 <= len(main.requests) <= 3
        assert elapsed < 0.6 + 0.5
        assert len(_webhook_calls(stack, sent)) == 1


async def test_second_click_on_the_same_message_within_3s_gets_the_cooldown_reply() -> None:
    offset = [0.0]
    async with relay_stack(clocks=Clocks(monotonic=lambda: time.monotonic() + offset[0])) as stack:
        first = await stack.send(factory.component(message_id="501"))
        await stack.settle(1)
        offset[0] += 2.9
        second = await stack.send(factory.component(message_id="501", custom_id="other"))
        other_message = await stack.send(factory.component(message_id="502"))
        await stack.settle(3)
        offset[0] += 0.2  # 3.1 s after the first click
        third = await stack.send(factory.component(message_id="501"))
        await stack.settle(4)
        assert stack.callbacks(first) == [{"type": 6}]
        assert stack.callbacks(second) == [
            {"type": 4, "data": {"content": COOLDOWN_MESSAGE, "flags": 64}}
        ]
        assert stack.callbacks(other_message) == [{"type": 6}]
        assert stack.callbacks(third) == [{"type": 6}]
        forwarded = [orjson.loads(r.body)["id"] for r in stack.main.requests]
        assert sorted(forwarded) == sorted([first["id"], other_message["id"], third["id"]])
        assert stack.relay.stats.forwards["cooldown"] == 1


async def test_interactions_of_another_application_are_ignored() -> None:
    async with relay_stack() as stack:
        assert stack.manager.application_id == stack.sim.application_id
        foreign = await stack.send({**factory.command(), "application_id": "999"})
        own = await stack.send(factory.command())
        await stack.settle(2)
        assert stack.callbacks(foreign) == []
        assert stack.callbacks(own) == [{"type": 5}]
        assert [orjson.loads(r.body)["id"] for r in stack.main.requests] == [own["id"]]
        assert stack.relay.stats.forwards["ignored"] == 1


async def test_a_configured_application_id_wins() -> None:
    async with relay_stack(application_id="4242") as stack:
        await stack.send(factory.command())  # the simulator's application, 1000
        await stack.settle()
        assert stack.main.requests == []
        assert stack.relay.stats.forwards["ignored"] == 1


async def test_ack_is_not_delayed_by_a_rate_limited_bucket_or_a_global_pause() -> None:
    main = MainApp(delay=3.0)
    async with relay_stack(main) as stack:
        stack.rest.buckets.block(_route("POST", "/channels/1/messages"), 30.0)
        stack.rest.global_limiter.pause(30.0)
        stuck = asyncio.create_task(
            stack.rest.request("POST", "/channels/1/messages", {"content": "x"})
        )
        sent = [await stack.send(factory.command()) for _ in range(5)]
        records = [stack.sim.interaction(s["id"]) for s in sent]
        await until(lambda: all(r is not None and r.acked_at is not None for r in records), 5)
        latencies = [r.ack_latency for r in records if r is not None]
        assert all(lat is not None and lat < 0.5 for lat in latencies)
        assert not stuck.done()
        stuck.cancel()


def _parsed(obj: dict[str, Any]) -> Interaction:
    interaction = Interaction.parse(obj)
    assert interaction is not None
    return interaction


def _route(method: str, path: str) -> Any:
    from gateway.rest.ratelimit import route_for

    return route_for(method, path)


async def test_logs_never_carry_tokens(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    main = MainApp()
    main.script(503, 503, 503)
    async with relay_stack(main) as stack:
        sent = await stack.send(factory.component())
        await stack.settle()
        ours = ("gateway.relay", "gateway.rest", "httpx", "httpcore")
        text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(ours))
        assert sent["id"] in text
        assert "/webhooks/1000/[token]" in text  # httpx's request line, redacted
        assert sent["token"] not in text
        assert AUTH not in text
        assert stack.sim.token not in text
        assert AUTH not in repr(stack.relay) and stack.sim.token not in repr(stack.rest)


async def test_forwards_wait_for_pending_acks_and_cancelled_ones_release_them() -> None:
    async with relay_stack() as stack:
        relay = stack.relay
        acks = relay.pending_acks
        before = acks.count
        # spawned but cancelled before it ran: its pending acknowledgement is released
        fresh = factory.command() | {
            "id": stack.sim.ids.next(),
            "token": "t",
            "application_id": stack.sim.application_id,
        }
        task = relay.submit(_parsed(fresh))
        assert task is not None
        assert acks.count == before + 1
        task.cancel()
        await asyncio.wait([task])
        assert acks.count == before
        assert acks.idle
        # an acknowledgement pending: a forward waits for it, and goes once it is settled
        due = acks.due(True)
        waiting = asyncio.create_task(relay.acks_first())
        await asyncio.sleep(0.05)  # a negative check: no event says "did not finish"; the
        # sleep gives the task ample loop turns to (wrongly) finish before it is looked at
        assert not waiting.done()
        due.settle()
        await asyncio.wait_for(waiting, 1)
        due.settle()  # settling twice counts once
        assert acks.count == 0


async def test_an_inline_handler_runs_in_the_dispatch_itself() -> None:
    """INTERACTION_CREATE reaches the relay without a task hop: the manager calls an inline
    handler synchronously, and only plain handlers get a task."""
    from gateway.connection.manager import GatewayConfig, GatewayManager

    async def no_gateway_bot() -> dict[str, Any]:
        raise AssertionError("not fetched")

    manager = GatewayManager(GatewayConfig(token="t", intents=5), no_gateway_bot)
    seen: list[Any] = []
    manager.on_inline("INTERACTION_CREATE", lambda data, shard: seen.append(data))
    manager.dispatcher("INTERACTION_CREATE", {"id": "1"}, cast(Any, None))
    assert seen == [{"id": "1"}]  # already called: no task in between
    assert manager.handler_tasks == 0
