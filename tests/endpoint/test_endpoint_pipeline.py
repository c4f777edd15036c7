"""POST /interactions through the bridge pipeline: the HTTP answer is the first response,
always within Discord's 3 s, and the interaction is forwarded as from the gateway."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway.delivery.signatures import load_public_key, verify_ed25519
from gateway.interactions.model import DISCORD_EPOCH_MS
from gateway.simulator import factory
from tests.endpoint.harness import endpoint_app, pending_settings
from tests.support.harness.app import discord_of

CHOICES = [{"name": "Pikachu", "value": "pikachu"}]
MODAL = {
    "type": 9,
    "data": {
        "custom_id": "trade:modal",
        "title": "Propose a trade",
        "components": [
            {
                "type": 1,
                "components": [
                    {"type": 4, "custom_id": "reason", "label": "Why", "style": 2},
                ],
            }
        ],
    },
}


def callbacks(srv: Any) -> list[Any]:
    return [r for r in srv.sim.rest.requests if r.path.endswith("/callback")]


async def test_each_interaction_type_gets_its_first_response_as_the_answer(
    tmp_path: Path,
) -> None:
    async with endpoint_app(tmp_path) as ep:
        ep.main.body = orjson.dumps({"choices": CHOICES})
        cases: list[tuple[dict[str, Any], dict[str, Any], str]] = [
            (factory.command("draft"), {"type": 5}, "/command"),
            (factory.component("pick:1"), {"type": 6}, "/component"),
            (factory.modal_submit("trade:modal"), {"type": 5}, "/modal"),
            (
                factory.modal_submit("trade:modal", from_message=True, message_id="77"),
                {"type": 6},
                "/modal",
            ),
            (
                factory.autocomplete("draft"),
                {"type": 8, "data": {"choices": CHOICES}},
                "/autocomplete",
            ),
        ]
        for payload, first, path in cases:
            delivery = await ep.discord.deliver(payload)
            assert delivery.accepted, (path, delivery.problem, delivery.answer)
            assert delivery.answer == first, path
            assert delivery.elapsed < 3.0
            record = ep.srv.sim.interaction(delivery.interaction["id"])
            assert record is not None and record.ack_type == first["type"]
        await ep.srv.sim.wait_for(lambda: len(ep.main.requests) == len(cases), 5)
        public_key = load_public_key(ep.srv.app.services.running.signing_public_key or "")
        by_id = {r.headers["x-interaction-id"]: r for r in ep.main.requests}
        for delivery, (_, _, path) in zip(ep.discord.deliveries, cases, strict=True):
            forwarded = by_id[delivery.interaction["id"]]
            assert forwarded.path == "/api/discord/interactions" + path
            assert forwarded.body == delivery.body  # byte for byte as Discord sent it
            headers = forwarded.headers
            assert verify_ed25519(
                public_key,
                headers["x-signature-timestamp"],
                forwarded.body,
                headers["x-signature-ed25519"],
            )
        modes = [r.headers["x-response-mode"] for r in ep.main.requests]
        assert sorted(modes) == ["deferred"] * 4 + ["respond"]
        assert callbacks(ep.srv) == []  # the HTTP answers were the first responses


async def test_a_modal_in_band_in_respond_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pending_settings(monkeypatch, interaction_response="respond")
    async with endpoint_app(tmp_path, INTERACTION_RESPONSE="respond") as ep:
        ep.main.body = orjson.dumps(MODAL)
        delivery = await ep.discord.deliver(factory.command("trade"))
        assert delivery.accepted, delivery.problem
        assert delivery.answer == MODAL
        forwarded = ep.main.requests[0]
        assert forwarded.headers["x-response-mode"] == "respond"
        deadline_ms = int(forwarded.headers["x-response-deadline"])
        assert 0 < deadline_ms - time.time() * 1000 < 3000
        record = ep.srv.sim.interaction(delivery.interaction["id"])
        assert record is not None and record.ack_type == 9
        assert callbacks(ep.srv) == []


async def test_respond_mode_past_the_window_defers_in_band_and_edits_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The longest window (2500 ms) and a main app slower than it: the defer still leaves
    within 3 s, and the late answer edits @original through Discord's webhook route."""
    pending_settings(monkeypatch, interaction_response="respond", response_window_ms=2500)
    async with endpoint_app(
        tmp_path, INTERACTION_RESPONSE="respond", RESPONSE_WINDOW_MS="2500"
    ) as ep:
        ep.main.delay = 2.8
        ep.main.body = orjson.dumps({"type": 4, "data": {"content": "Trade proposed"}})
        delivery = await ep.discord.deliver(factory.command("trade"))
        assert delivery.accepted, delivery.problem
        assert delivery.answer == {"type": 5}
        assert 2.4 < delivery.elapsed < 3.0

        def edits() -> list[Any]:
            return [r for r in ep.srv.sim.rest.requests if r.method == "PATCH"]

        await ep.srv.sim.wait_for(edits, 5)
        assert edits()[0].path.endswith("/messages/@original")
        assert edits()[0].json == {"content": "Trade proposed"}


async def test_the_same_interaction_twice_is_answered_and_forwarded_once(
    tmp_path: Path,
) -> None:
    async with endpoint_app(tmp_path) as ep:
        first = await ep.discord.deliver(factory.command("draft"))
        again = await ep.discord.post(first.body)
        assert first.accepted and first.answer == {"type": 5}
        assert again.status == 409
        assert again.headers["content-type"] == "application/problem+json"
        await ep.srv.sim.wait_for(lambda: ep.main.requests, 5)
        assert len(ep.main.requests) == 1


async def test_an_interaction_10s_old_on_arrival_gets_nothing(tmp_path: Path) -> None:
    async with endpoint_app(tmp_path) as ep:
        ten_seconds_ago = int((time.time() - 10) * 1000) - DISCORD_EPOCH_MS
        old = factory.command("draft") | {"id": str(ten_seconds_ago << 22)}
        delivery = await ep.discord.deliver(old)
        assert delivery.status == 409 and not delivery.accepted
        fresh = await ep.discord.deliver(factory.command("draft"))  # the positive control
        assert fresh.accepted
        await ep.srv.sim.wait_for(lambda: ep.main.requests, 5)
        assert [r.headers["x-interaction-id"] for r in ep.main.requests] == [
            fresh.interaction["id"]
        ]
        assert discord_of(ep.srv.app).relay.stats.forwards["dropped"] == 1
