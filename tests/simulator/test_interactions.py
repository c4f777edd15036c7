"""The simulator's interaction routes: callbacks answered as Discord answers them (10062 later
than 3 s after creation, 40060 for a second one, 400 for what the interaction cannot take),
webhooks, and the Date header of every answer."""

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


async def test_command_ack_latency_and_double_ack(
    sim: DiscordSimulator, client: RawClient, http: httpx.AsyncClient
) -> None:
    sent = await sim.send_interaction(factory.command("draft"))
    got = await client.recv()
    assert got["t"] == "INTERACTION_CREATE" and got["d"] == sent
    assert sent["application_id"] == sim.application_id and sent["token"]
    url = f"/interactions/{sent['id']}/{sent['token']}/callback"
    first = await http.post(url, json={"type": 5})
    again = await http.post(url, json={"type": 5})
    assert first.status_code == 204
    assert again.status_code == 400 and again.json()["code"] == 40060
    record = sim.interaction(sent["id"])
    assert record is not None and record.ack_type == 5 and len(record.callbacks) == 2
    assert record.ack_latency is not None and 0 <= record.ack_latency < 3
    assert sim.ack_latencies == [record.ack_latency]


async def test_edit_original_and_follow_up(
    sim: DiscordSimulator, client: RawClient, http: httpx.AsyncClient
) -> None:
    sent = await sim.send_interaction(factory.component("pick:red"))
    await client.recv()
    hook = f"/webhooks/{sim.application_id}/{sent['token']}"
    early = await http.patch(hook + "/messages/@original", json={"content": "too soon"})
    assert early.status_code == 404  # nothing to edit before the callback
    await http.post(f"/interactions/{sent['id']}/{sent['token']}/callback", json={"type": 6})
    edited = await http.patch(hook + "/messages/@original", json={"content": "sorry"})
    follow = await http.post(hook, json={"content": "sorry", "flags": 64})
    assert edited.status_code == 200 and edited.json()["content"] == "sorry"
    assert follow.status_code == 200 and follow.json()["flags"] == 64
    wrong_app = await http.post(f"/webhooks/999/{sent['token']}", json={"content": "x"})
    assert wrong_app.status_code == 404
    assert len(sim.routes.messages) == 2


@pytest.mark.parametrize(
    ("interaction", "good", "bad"),
    [
        (factory.autocomplete(), 8, 5),
        (factory.component(), 6, 8),
        (factory.modal_submit(from_message=True), 6, 9),
        (factory.modal_submit(), 5, 6),
    ],
)
async def test_callback_types_checked_per_interaction_type(
    sim: DiscordSimulator,
    client: RawClient,
    http: httpx.AsyncClient,
    interaction: dict,  # type: ignore[type-arg]
    good: int,
    bad: int,
) -> None:
    sent = await sim.send_interaction(interaction)
    await client.recv()
    url = f"/interactions/{sent['id']}/{sent['token']}/callback"
    refused = await http.post(url, json={"type": bad})
    accepted = await http.post(url, json={"type": good})
    assert refused.status_code == 400 and refused.json()["code"] == 50035
    assert accepted.status_code == 204


async def test_late_ack_gets_10062() -> None:
    now = [100.0]
    async with DiscordSimulator(clock=lambda: now[0], interaction_ack_deadline=3.0) as sim:
        async with raw_client(sim.gateway_url) as c, httpx.AsyncClient(headers=UA) as http:
            await c.ready(sim.token)
            sent = await sim.send_interaction(factory.command())
            await c.recv()
            now[0] += 3.5
            url = f"{sim.api_base}/interactions/{sent['id']}/{sent['token']}/callback"
            res = await http.post(url, json={"type": 5})
    assert res.status_code == 404 and res.json()["code"] == 10062


async def test_interaction_buffered_while_disconnected_is_timed_on_replay(
    sim: DiscordSimulator,
) -> None:
    async with raw_client(sim.gateway_url) as c:
        ready = await c.ready(sim.token)
        await c.ws.close(4000)
    await sim.wait_for(lambda: sim.connections[0].closed_at is not None)
    sent = await sim.send_interaction(factory.command())
    record = sim.interaction(sent["id"])
    assert record is not None and record.sent_at is None
    async with raw_client(sim.gateway_url, path="/resume") as c:
        await c.recv_op(10)
        session_id = ready["d"]["session_id"]
        await c.send({"op": 6, "d": {"token": sim.token, "session_id": session_id, "seq": 1}})
        replayed = await c.recv()
    assert replayed["d"]["id"] == sent["id"] and record.sent_at is not None
    assert record.seq == replayed["s"]


# ---- first responses refused as Discord refuses them; the Date header ----


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
