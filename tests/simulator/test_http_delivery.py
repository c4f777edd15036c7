"""The simulator's HTTP delivery judges an endpoint's answers as Discord does."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.simulator import DiscordSimulator, factory
from gateway.simulator.http_delivery import HttpDelivery
from tests.support.harness.server import read_request, serve


class ScriptedEndpoint:
    """Answers each POST with the next (status, body, content type, delay); records them."""

    def __init__(self, *answers: tuple[int, Any, str, float]) -> None:
        self.answers = list(answers)
        self.seen: list[tuple[dict[str, str], bytes]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, headers = await read_request(scope, receive)
        self.seen.append((headers, body))
        status, answer, content_type, delay = self.answers.pop(0)
        await asyncio.sleep(delay)
        content = answer if isinstance(answer, bytes) else orjson.dumps(answer)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type.encode())],
            }
        )
        await send({"type": "http.response.body", "body": content})


JSON = "application/json"
MODAL = {
    "type": 9,
    "data": {
        "custom_id": "m",
        "title": "T",
        "components": [{"type": 1, "components": [{"type": 4, "custom_id": "a"}]}],
    },
}


async def test_signed_as_discord_signs_and_answers_judged() -> None:
    endpoint = ScriptedEndpoint(
        (200, {"type": 5}, JSON, 0.0),
        (200, MODAL, JSON, 0.0),  # a modal for an autocomplete
        (200, {"type": 4, "data": {"content": "x" * 2001}}, JSON, 0.0),
        (200, {"type": 5}, JSON, 0.7),  # too late (deadline 0.5 s here)
        (500, {"message": "boom"}, JSON, 0.0),
        (200, b"not json", JSON, 0.0),
        (200, {"type": 5}, "text/plain", 0.0),
    )
    async with DiscordSimulator() as sim, serve(endpoint) as url:
        async with HttpDelivery(sim, url + "/interactions", deadline=0.5) as discord:
            ok = await discord.deliver(factory.command("draft"))
            record = sim.interaction(ok.interaction["id"])
            assert ok.accepted and record is not None and record.ack_type == 5
            modal = await discord.deliver(factory.autocomplete("draft"))
            assert not modal.accepted and "50035" in (modal.problem or "")
            long = await discord.deliver(factory.command("draft"))
            assert not long.accepted and "2000" in (long.problem or "")
            late = await discord.deliver(factory.command("draft"))
            assert late.problem == "no answer within 0.5 s"
            failed = await discord.deliver(factory.command("draft"))
            assert failed.problem == "answered 500"
            garbage = await discord.deliver(factory.command("draft"))
            assert garbage.problem == "the answer is not JSON"
            text = await discord.deliver(factory.command("draft"))
            assert text.problem == "the answer is not application/json"
            refused = [modal, long, late, failed, garbage, text]
            for delivery in refused:
                record = sim.interaction(delivery.interaction["id"])
                assert record is not None and record.acked_at is None
            # Each request is signed with the delivery's key over timestamp + body.
            public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(discord.public_key))
            for headers, body in endpoint.seen:
                signed = headers["x-signature-timestamp"].encode() + body
                public.verify(bytes.fromhex(headers["x-signature-ed25519"]), signed)
                assert headers["content-type"] == JSON
            assert len(discord.deliveries) == 7


async def test_a_callback_after_an_accepted_answer_is_40060() -> None:
    endpoint = ScriptedEndpoint((200, {"type": 5}, JSON, 0.0))
    async with DiscordSimulator() as sim, serve(endpoint) as url:
        async with HttpDelivery(sim, url) as discord, httpx.AsyncClient() as client:
            delivery = await discord.deliver(factory.command("draft"))
            assert delivery.accepted
            interaction = delivery.interaction
            path = f"/interactions/{interaction['id']}/{interaction['token']}/callback"
            answer = await client.post(
                sim.api_base + path,
                json={"type": 5},
                headers={"User-Agent": "DiscordBot (test, 1)"},
            )
            assert answer.status_code == 400 and answer.json()["code"] == 40060
            edit = await client.patch(
                f"{sim.api_base}/webhooks/{sim.application_id}/{interaction['token']}"
                "/messages/@original",
                json={"content": "done"},
                headers={"User-Agent": "DiscordBot (test, 1)"},
            )
            assert edit.status_code == 200
