"""The simulator refuses first responses as Discord does: 10062 later than 3 s after the
interaction's creation, 400 Invalid Form Body for what the interaction cannot take; and every
answer carries a `Date` header (the relay's estimate of Discord's clock)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from email.utils import parsedate_to_datetime

import httpx
import pytest

from gateway.interactions.model import DISCORD_EPOCH_MS
from gateway.simulator import DiscordSimulator, factory
from tests.simulator.client import RawClient, raw_client

UA = {"User-Agent": "DiscordBot (https://example.invalid, 1.0)"}


@pytest.fixture
async def client(sim: DiscordSimulator) -> AsyncIterator[RawClient]:
    async with raw_client(sim.gateway_url) as c:
        await c.ready(sim.token)
        yield c


@pytest.fixture
async def http(sim: DiscordSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.api_base, headers=UA) as c:
        yield c


async def test_a_callback_more_than_3s_after_creation_gets_10062(
    sim: DiscordSimulator, client: RawClient, http: httpx.AsyncClient
) -> None:
    created = int((time.time() - 3.5) * 1000) - DISCORD_EPOCH_MS
    sent = await sim.send_interaction(factory.command() | {"id": str(created << 22)})
    await client.recv()  # sent just now, but created 3.5 s ago
    answer = await http.post(
        f"/interactions/{sent['id']}/{sent['token']}/callback", json={"type": 5}
    )
    assert answer.status_code == 404
    assert answer.json() == {"message": "Unknown interaction", "code": 10062}


@pytest.mark.parametrize(
    ("interaction", "body", "errors"),
    [
        (
            factory.autocomplete(),
            {"type": 9, "data": {"custom_id": "m", "title": "T", "components": [{"type": 1}]}},
            {"type": {"_errors": [{"code": "BASE_TYPE_INVALID"}]}},
        ),
        (
            factory.command(),
            {"type": 4, "data": {"content": "x" * 2001}},
            {"data": {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}}},
        ),
        (
            factory.component(),
            {"type": 7, "data": {"embeds": [{}] * 11}},
            {"data": {"embeds": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH"}]}}},
        ),
        (
            factory.command(),
            {"type": 9, "data": {"title": "T", "components": [{"type": 1}]}},
            {"data": {"custom_id": {"_errors": [{"code": "BASE_TYPE_REQUIRED"}]}}},
        ),
        (
            factory.command(),
            {"type": 9, "data": {"custom_id": "m", "title": "T", "components": []}},
            {"data": {"components": {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH"}]}}},
        ),
        (
            factory.command(),
            {"type": 4},
            {"data": {"_errors": [{"code": "BASE_TYPE_REQUIRED"}]}},
        ),
    ],
    ids=[
        "modal-for-autocomplete",
        "content-2001",
        "11-embeds",
        "modal-without-custom-id",
        "modal-without-fields",
        "message-without-data",
    ],
)
async def test_an_invalid_first_response_gets_discords_400(
    sim: DiscordSimulator,
    client: RawClient,
    http: httpx.AsyncClient,
    interaction: dict,  # type: ignore[type-arg]
    body: dict,  # type: ignore[type-arg]
    errors: dict,  # type: ignore[type-arg]
) -> None:
    sent = await sim.send_interaction(interaction)
    await client.recv()
    url = f"/interactions/{sent['id']}/{sent['token']}/callback"
    refused = await http.post(url, json=body)
    assert refused.status_code == 400
    shape = refused.json()
    assert (shape["message"], shape["code"]) == ("Invalid Form Body", 50035)

    def leaves(tree: dict, want: dict) -> None:  # type: ignore[type-arg]
        for key, value in want.items():
            if key == "_errors":
                assert [e["code"] for e in tree[key]] == [e["code"] for e in value]
                assert all(isinstance(e["message"], str) for e in tree[key])
            else:
                leaves(tree[key], value)

    leaves(shape["errors"], errors)
    record = sim.interaction(sent["id"])
    assert record is not None and record.acked_at is None  # a refused one acknowledges nothing


async def test_every_answer_carries_a_date_header(http: httpx.AsyncClient) -> None:
    answer = await http.get("/gateway")
    date = parsedate_to_datetime(answer.headers["date"]).timestamp()
    assert abs(date - time.time()) < 2
