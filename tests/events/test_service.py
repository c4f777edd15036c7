"""EventService with an in-memory journal and a scripted main app: order per guild, batches,
the in-flight limit, retries and dead letters, the backlog bound, dedupe and restarts."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from gateway.events import dead_letters
from gateway.journal.events import MemoryEventStore, WebhookClaim
from tests.events.scripted import Clock, Poster, Shard, dispatch, service
from tests.support.waiting import eventually


async def test_each_guild_in_order_a_failing_guild_holds_back_only_itself() -> None:
    failing = {"on": True}

    def answer(events: list[dict[str, Any]]) -> int:
        return 503 if failing["on"] and events[0]["guild_id"] == "3" else 200

    poster = Poster(answer)
    events = service(poster)
    await events.start()
    shard = Shard()
    for n in range(100):
        dispatch(events, shard, str(n % 5), n)
    healthy = [str(g) for g in range(5) if g != 3]
    await eventually(lambda: len(poster.delivered()) == 80, 5)
    failing["on"] = False
    await eventually(lambda: len(poster.delivered()) == 100, 5)
    for guild in [*healthy, "3"]:
        got = [e["data"]["content"] for e in poster.delivered() if e["guild_id"] == guild]
        assert got == [f"m{n}" for n in range(100) if str(n % 5) == guild]
    # every attempt of a retried batch: the same X-Delivery-Id, its attempt counting up
    retried = [h for h, ev, _ in poster.attempts if ev[0]["guild_id"] == "3"]
    first_id = retried[0]["X-Delivery-Id"]
    same = [h["X-Delivery-Attempt"] for h in retried if h["X-Delivery-Id"] == first_id]
    assert same[:3] == ["1", "2", "3"]
    assert events.pending == 0
    await events.stop()


async def test_batches_up_to_batch_max_and_waits_to_fill() -> None:
    poster = Poster()
    events = service(poster, batch_max=10, batch_wait_ms=300)
    await events.start()
    shard = Shard()
    for n in range(25):
        dispatch(events, shard, "1", n)
    await eventually(lambda: len(poster.attempts) == 2, 5)
    assert [len(ev) for _, ev, _ in poster.attempts] == [10, 10]
    await asyncio.sleep(0.1)
    assert len(poster.attempts) == 2  # five left: waiting to fill, up to 300 ms
    await eventually(lambda: len(poster.attempts) == 3, 2)
    assert [e["data"]["content"] for e in poster.attempts[2][1]] == [f"m{n}" for n in range(20, 25)]
    await events.stop()


async def test_a_lane_waiting_to_fill_goes_as_soon_as_its_batch_is_full() -> None:
    poster = Poster()
    events = service(poster, batch_max=5, batch_wait_ms=3000)
    await events.start()
    shard = Shard()
    for n in range(2):
        dispatch(events, shard, "1", n)
    await asyncio.sleep(0.2)
    assert poster.attempts == []  # two of five: the lane waits (up to 3 s)
    loop = asyncio.get_running_loop()
    filled = loop.time()
    for n in range(2, 5):
        dispatch(events, shard, "1", n)
    await eventually(lambda: len(poster.attempts) == 1, 1)
    assert loop.time() - filled < 1  # the fifth event ended the wait, not the 3 s
    assert [e["data"]["content"] for e in poster.attempts[0][1]] == [f"m{n}" for n in range(5)]
    await events.stop()


async def test_lanes_at_once_are_limited_by_max_in_flight() -> None:
    poster = Poster(delay=0.02)
    events = service(poster, max_in_flight=4)
    await events.start()
    shard = Shard()
    for n in range(40):
        dispatch(events, shard, str(n), n)
    await eventually(lambda: len(poster.delivered()) == 40, 5)
    assert poster.most_open == 4
    await events.stop()


async def test_a_4xx_is_a_dead_letter_at_once_replayed_or_forgotten() -> None:
    status = {"code": 400}
    poster = Poster(lambda events: status["code"])
    events = service(poster)
    await events.start()
    shard = Shard()
    dispatch(events, shard, "1", 1)
    dispatch(events, shard, "1", 2)
    await eventually(lambda: len(events.dead) == 2, 5)
    assert len(poster.attempts) == 2  # once each: no retry
    [first, _] = await events.dead_letters()
    assert first["attempts"] == 1 and first["last_status"] == 400
    assert first["type"] == "MESSAGE_CREATE" and first["guild_id"] == "1"
    assert first["first_attempt"] is not None and first["last_attempt"] is not None
    status["code"] = 200
    assert await events.replay([first["id"]]) == 1
    await eventually(lambda: len(poster.delivered()) == 1, 5)
    assert poster.delivered()[0]["id"] == first["id"]
    assert await events.forget() == 1 and events.dead == {}
    assert events.stats.dead == {"MESSAGE_CREATE": 2}
    await events.stop()


async def test_retried_until_the_retry_budget_then_dead() -> None:
    poster = Poster(lambda events: 500)
    events = service(poster, give_up_after=3600.0)
    await events.start()
    dispatch(events, Shard(), "1", 1)
    await eventually(lambda: len(events.dead) == 1, 5)
    [dead] = await events.dead_letters()
    assert dead["attempts"] > 5 and dead["last_status"] == 500
    assert dead["last_attempt"] - dead["first_attempt"] <= 3600_000
    await events.stop()


async def test_the_backlog_bound_drops_the_oldest() -> None:
    poster = Poster(delay=30.0)  # the main app hangs: one batch per lane in flight
    notices: list[str] = []
    events = service(poster, max_pending=10, notice=notices.append)
    await events.start()
    shard = Shard()
    for n in range(30):
        dispatch(events, shard, str(n % 3), n)
        await asyncio.sleep(0)
    await eventually(lambda: events.stats.dropped.get("MESSAGE_CREATE") == 20, 5)
    assert events.pending == 10
    assert len(notices) == 1
    assert events.health()["ok"] is False  # a drop in the last 5 minutes
    await events.stop(grace=0.0)


async def test_a_replayed_dispatch_is_not_taken_twice_and_filters_apply() -> None:
    poster = Poster()
    events = service(poster, forwards={"MESSAGE_CREATE": {"channels": ["9"]}})
    await events.start()
    shard = Shard()
    dispatch(events, shard, "1", 1)
    dispatch(events, shard, "1", 2, channel_id="8")  # not listed: filtered
    shard.seq = 0  # the first dispatch again (a resume from an older checkpoint)
    dispatch(events, shard, "1", 1)
    await eventually(lambda: len(poster.delivered()) == 1, 5)
    await asyncio.sleep(0.02)
    assert len(poster.delivered()) == 1
    assert events.stats.duplicates == {"MESSAGE_CREATE": 1}
    assert events.stats.filtered == 1
    await events.stop()


async def test_a_restart_delivers_what_was_journaled_with_the_same_ids() -> None:
    store = MemoryEventStore()
    down = Poster(lambda events: 503)
    first = service(down, store)
    await first.start()
    shard = Shard()
    for n in range(5):
        dispatch(first, shard, "1", n)
    await first.barrier()
    ids = sorted(event_id for event_id, _ in (await store.load()).pending)
    assert len(ids) == 5
    await first.stop(grace=0.0)
    up = Poster()
    second = service(up, store)
    await second.start()
    shard.seq = 3  # the resume replays 4 and 5 (journaled already): not taken again
    dispatch(second, shard, "1", 3)
    dispatch(second, shard, "1", 4)
    await eventually(lambda: len(up.delivered()) == 5, 5)
    assert sorted(e["id"] for e in up.delivered()) == ids
    assert [e["data"]["content"] for e in up.delivered()] == [f"m{n}" for n in range(5)]
    await eventually(lambda: store.rows == {}, 5)
    await second.stop()


async def test_the_barrier_waits_for_the_journal() -> None:
    store = MemoryEventStore()
    store.fail = True
    events = service(Poster(), store)
    await events.start()
    dispatch(events, Shard(), "1", 1)
    barrier = asyncio.ensure_future(events.barrier())
    await asyncio.sleep(0.05)
    assert not barrier.done()  # the write fails: no checkpoint may pass it
    assert events.journal.failing and events.health()["ok"] is False
    store.fail = False
    await asyncio.wait_for(barrier, 5)
    await events.stop()


async def test_dead_letter_requests_wait_for_the_journal_and_give_up_while_it_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(dead_letters, "SETTLE_WAIT", 0.1)
    store = MemoryEventStore()
    events = service(Poster(lambda events: 400), store)
    await events.start()
    dispatch(events, Shard(), "1", 1)
    await eventually(lambda: len(events.dead) == 1, 5)
    await events.barrier()  # the dead letter written
    [first] = events.dead
    store.fail = True
    # its journal change cannot be written; its lane sends it all the same (a 400: dead)
    dispatch(events, Shard(session_id="session-b"), "1", 2)
    with pytest.raises(TimeoutError):
        await events.dead_letters()  # the route answers 503
    with pytest.raises(TimeoutError):
        await events.forget()
    assert first in events.dead and list(store.dead_rows) == [first]  # nothing forgotten
    store.fail = False
    await eventually(lambda: len(events.dead) == 2 and not events.journal.failing, 5)
    assert [d["last_status"] for d in await events.dead_letters()] == [400, 400]
    await events.stop()


async def test_webhook_events_once_with_a_stable_id() -> None:
    poster = Poster()
    events = service(poster)
    await events.start()
    body = {"type": 1, "event": {"type": "APPLICATION_AUTHORIZED", "timestamp": "t", "data": {}}}
    assert await events.receive_webhook(body) is WebhookClaim.NEW
    again = await events.receive_webhook(orjson.loads(orjson.dumps(body)))
    assert again is WebhookClaim.SEEN
    with pytest.raises(ValueError):
        await events.receive_webhook({"type": 1, "event": {"data": {}}})  # no type
    await eventually(lambda: len(poster.delivered()) == 1, 5)
    [event] = poster.delivered()
    assert event["id"].startswith("w:")
    assert event["source"] == "webhook" and event["shard"] is None and event["guild_id"] is None
    await events.stop()


@pytest.mark.parametrize("stale", [False, True])
async def test_health_is_degraded_while_the_oldest_pending_is_over_5_minutes(stale: bool) -> None:
    clock = Clock()
    events = service(Poster(delay=30.0), clock=clock)  # the main app hangs
    await events.start()
    dispatch(events, Shard(), "1", 1)
    await eventually(lambda: events.lanes.pending == 1, 5)
    clock.now += 301 if stale else 100
    health = events.health()
    assert health["ok"] is not stale
    assert health["pending"] == 1 and health["oldest_pending_age_s"] >= 100
    await events.stop(grace=0.0)


class RecordingStore(MemoryEventStore):
    """The memory store, recording every id a transaction added or removed."""

    def __init__(self) -> None:
        super().__init__()
        self.added: list[str] = []
        self.removed: list[str] = []

    async def apply(self, changes: Any) -> None:
        self.added += [event.id for change in changes for event in change.add]
        self.removed += [event_id for change in changes for event_id in change.remove]
        await super().apply(changes)


async def test_an_event_taken_before_its_transaction_is_never_written_its_mark_is() -> None:
    store = RecordingStore()
    poster = Poster(delay=0.05)
    events = service(poster, store)
    await events.start()
    shard = Shard()
    dispatch(events, shard, "1", 1)  # the journal is idle: written at once
    await asyncio.sleep(0.01)
    dispatch(events, shard, "2", 2)  # the next transaction waits up to MIN_INTERVAL (0.25 s)
    await eventually(lambda: len(poster.delivered()) == 2, 5)  # both sent before it
    await events.barrier()
    [first, _second] = [e["id"] for e in poster.delivered()]
    assert store.added == [first]  # the second was delivered before its add was written
    assert store.removed == [first]
    assert store.rows == {} and [seq for seq, _ in store.marks.values()] == [2]  # marked
    # a replay of it after a crash is recognised by the mark: not delivered again
    again = service(Poster(), store)
    await again.start()
    replayed = Shard(seq=1)
    dispatch(again, replayed, "2", 2)
    assert again.stats.duplicates == {"MESSAGE_CREATE": 1} and again.pending == 0
    await again.stop()
    await events.stop()


async def test_events_go_to_their_lanes_before_the_journal_writes_them() -> None:
    store = MemoryEventStore()
    store.delay = 1.0  # a slow disk
    poster = Poster()
    events = service(poster, store)
    await events.start()
    dispatch(events, Shard(), "1", 1)
    await eventually(lambda: len(poster.delivered()) == 1, 0.5)  # not after the write
    assert store.transactions == 0
    await events.barrier()  # the checkpoint still waits for the journal
    assert store.transactions >= 1 and store.rows == {}
    await events.stop()
