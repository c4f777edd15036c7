"""Events with several nodes on one real redis-server. A gateway event is kept with its shard:
the node that takes a shard delivers what was pending there, under the same ids, in each
guild's order, having learned the marks (the RESUME of the shard journals nothing twice), and
the node that gives a shard up stops delivering its events. A node's other events (Webhook
Events) are its own: a survivor adopts a dead node's. The dead letters are every node's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from gateway.events.model import webhook_event_id
from gateway.events.service import EventService
from gateway.journal import events_redis
from gateway.journal.events import WebhookClaim, open_event_store
from tests.events.scripted import Poster, Shard, dispatch, service
from tests.support.harness.redis_server import redis_server
from tests.support.tools import require_tool
from tests.support.waiting import eventually


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    async with redis_server(require_tool("redis-server")) as url:
        yield url


async def node(
    url: str, name: str, poster: Poster, shards: Sequence[int] | None = None, **options: Any
) -> EventService:
    events = service(poster, await open_event_store(None, url, group=f"node:{name}"), **options)
    await events.start(shards)
    return events


def webhook(n: int) -> dict[str, Any]:
    return {"type": 1, "event": {"type": "ENTITLEMENT_CREATE", "data": {"n": n}}}


async def test_the_node_taking_a_shard_delivers_what_was_pending_on_it(redis_url: str) -> None:
    stuck = Poster(delay=60.0)  # node a's deliveries never end: everything stays pending
    a = await node(redis_url, "a", stuck, shards=[0])
    shard = Shard(session_id="session-a")
    for n in range(6):
        dispatch(a, shard, str(n % 2 + 1), n)  # guilds 1 and 2, three events each
    await a.barrier()
    journaled = sorted((await a.store.load([0])).pending)
    assert len(journaled) == 6
    await a.stop(grace=0.0)  # gone: what it journaled stays with shard 0

    up = Poster()
    b = await node(redis_url, "b", up, shards=[])
    assert b.pending == 0  # no shard yet: nothing of shard 0 is b's to deliver
    assert await b.take_shard(0) == 6
    await eventually(lambda: len(up.delivered()) == 6, 5)
    delivered = up.delivered()
    assert sorted(e["id"] for e in delivered) == sorted(i for i, _ in journaled)
    for guild, contents in (("1", ["m0", "m2", "m4"]), ("2", ["m1", "m3", "m5"])):
        assert [e["data"]["content"] for e in delivered if e["guild_id"] == guild] == contents
    await eventually(lambda: b.journal.backlog == 0, 5)
    assert (await b.store.load([0])).pending == []  # delivered: forgotten
    assert await b.take_shard(0) == 0

    # b resumes a's session: the replay of what a journaled is a duplicate, what follows new
    shard.seq = 3
    for n in range(3, 7):
        dispatch(b, shard, "1", n)
    assert b.stats.duplicates == {"MESSAGE_CREATE": 3}
    await eventually(lambda: len(up.delivered()) == 7, 5)
    assert up.delivered()[-1]["data"]["content"] == "m6"
    await b.stop()


async def test_a_node_that_gives_a_shard_up_leaves_its_events_to_the_next_holder(
    redis_url: str,
) -> None:
    slow = Poster(delay=0.5)
    a = await node(redis_url, "a", slow, shards=[0])
    shard = Shard(session_id="session-a")
    for n in range(3):
        dispatch(a, shard, "1", n)  # one lane: m0 goes out, m1 and m2 wait behind it
    await eventually(lambda: slow.open == 1, 5)
    await a.give_shard(0)  # stopped here (a hand-over): written before the lease goes
    up = Poster()
    b = await node(redis_url, "b", up, shards=[])
    assert await b.take_shard(0) == 3  # m0 too: its delivery had not ended
    await eventually(lambda: len(up.delivered()) == 3, 5)
    await eventually(lambda: slow.open == 0, 5)
    assert [e["data"]["content"] for e in slow.delivered()] == ["m0"]  # nothing after it
    assert [e["data"]["content"] for e in up.delivered()] == ["m0", "m1", "m2"]
    assert {e["id"] for e in up.delivered()} >= {e["id"] for e in slow.delivered()}
    await a.stop()
    await b.stop()


async def test_a_dead_nodes_own_events_are_adopted_by_one_survivor(redis_url: str) -> None:
    a = await node(redis_url, "a", Poster(delay=60.0), shards=[])
    sent = [await a.receive_webhook(webhook(n)) for n in range(3)]
    assert sent == [WebhookClaim.NEW] * 3
    await a.barrier()
    await a.stop(grace=0.0)
    up = Poster()
    b = await node(redis_url, "b", up, shards=[])
    c = await node(redis_url, "c", Poster(), shards=[])
    assert await b.adopt("node:a") == 3
    assert await c.adopt("node:a") == 0  # one adopter gets them
    await eventually(lambda: len(up.delivered()) == 3, 5)
    ids = [webhook_event_id(webhook(n)["event"]) for n in range(3)]
    assert [e["id"] for e in up.delivered()] == ids
    await b.stop()
    await c.stop()


async def test_the_dead_letters_are_every_nodes(redis_url: str) -> None:
    refused = Poster(lambda events: 400)
    a = await node(redis_url, "a", refused)
    dispatch(a, Shard(session_id="session-a"), "1", 1)
    await eventually(lambda: len(a.dead) == 1, 5)
    await a.barrier()  # written (another node reads what is stored, not a's memory)
    up = Poster()
    b = await node(redis_url, "b", up)
    [letter] = await b.dead_letters()
    assert letter["id"] in a.dead and letter["last_status"] == 400
    assert await b.replay(None) == 1  # delivered by the node that replays it
    await eventually(lambda: [e["id"] for e in up.delivered()] == [letter["id"]], 5)
    assert await a.dead_letters() == [] and a.dead == {}
    assert await b.dead_letters() == []
    await a.stop()
    await b.stop()


async def test_a_dead_letter_forgotten_on_one_node_is_gone_on_every_node(redis_url: str) -> None:
    a = await node(redis_url, "a", Poster(lambda events: 400))
    shard = Shard(session_id="session-a")
    dispatch(a, shard, "1", 1)
    dispatch(a, shard, "2", 2)
    await eventually(lambda: len(a.dead) == 2, 5)
    await a.barrier()  # written
    b = await node(redis_url, "b", Poster())
    assert len(b.dead) == 2  # read at start: its /health counts them
    first = sorted(a.dead)[0]
    assert await b.forget([first]) == 1
    assert [d["id"] for d in await a.dead_letters()] == sorted(a.dead) and first not in a.dead
    assert await a.forget() == 1
    assert await b.dead_letters() == []
    await a.stop()
    await b.stop()


async def test_a_webhook_event_sent_again_to_another_node_is_taken_once(redis_url: str) -> None:
    """Discord retries a Webhook Event whose 204 it missed, to whichever node the load
    balancer picks: the store every node shares recognises it."""
    a_main, b_main = Poster(), Poster()
    a = await node(redis_url, "a", a_main, shards=[])
    b = await node(redis_url, "b", b_main, shards=[])
    assert await a.receive_webhook(webhook(1)) is WebhookClaim.NEW
    # a took it and has not journaled it yet: b does not take it, Discord is asked again
    assert await b.receive_webhook(webhook(1)) is WebhookClaim.BUSY
    await a.barrier()
    assert await b.receive_webhook(webhook(1)) is WebhookClaim.SEEN  # journaled: a duplicate
    assert b.stats.duplicates == {"ENTITLEMENT_CREATE": 1}
    await eventually(lambda: len(a_main.delivered()) == 1, 5)
    assert b_main.attempts == [] and b.pending == 0
    # two nodes asked at once: exactly one takes it
    claims = await asyncio.gather(a.receive_webhook(webhook(2)), b.receive_webhook(webhook(2)))
    assert sorted(claims) == sorted([WebhookClaim.NEW, WebhookClaim.BUSY])
    await a.stop()
    await b.stop()


async def test_a_claim_lapses_when_its_node_dies_before_journaling(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events_redis, "WEBHOOK_CLAIM", 0.2)
    store = await open_event_store(None, redis_url, group="node:gone")
    up = Poster()
    b = await node(redis_url, "b", up, shards=[])
    body = webhook(3)
    body["event"]["type"] = "ENTITLEMENT_UPDATE"
    # the node that got it first claimed it, then died before journaling it
    assert await store.claim_webhook(webhook_event_id(body["event"])) is WebhookClaim.NEW
    assert await b.receive_webhook(body) is WebhookClaim.BUSY
    await asyncio.sleep(0.3)  # the claim of the node that died lapsed: Discord's retry is taken
    assert await b.receive_webhook(body) is WebhookClaim.NEW
    await eventually(lambda: len(up.delivered()) == 1, 5)
    await store.aclose()
    await b.stop()
