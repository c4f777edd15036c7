"""Shared POSTs (gateway/events/lanes.py): lanes waiting to fill their batches go along with a
lane whose batch is ready, each guild's events together and in order; a shared POST that fails
is split, each guild's part sent alone, so a refused guild still holds back only itself."""

from __future__ import annotations

import asyncio
from itertools import groupby
from typing import Any

from tests.events.scripted import Clock, Poster, Shard, dispatch, service
from tests.support.waiting import eventually

GUILDS = ("1", "2", "3", "4")


def trickle(events: Any, shard: Shard, per_guild: int, start: int = 0) -> None:
    """`per_guild` events in each guild, interleaved as they would come."""
    for n in range(start, start + per_guild):
        for guild in GUILDS:
            dispatch(events, shard, guild, n)


def runs(batch: list[dict[str, Any]]) -> list[str]:
    """The guilds of a POST's events, one entry per run of one guild."""
    return [guild for guild, _ in groupby(e["guild_id"] for e in batch)]


class SlowClock(Clock):
    """The fake clock, whose sleeps also take a little real time (a retrying lane stays busy
    while the test looks)."""

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(min(seconds, 1.0) * 0.05)


def contents(poster: Poster, guild: str) -> list[str]:
    return [e["data"]["content"] for e in poster.delivered() if e["guild_id"] == guild]


async def test_lanes_waiting_to_fill_go_in_one_post_each_guild_together_and_in_order() -> None:
    poster = Poster()
    events = service(poster, batch_max=50, batch_wait_ms=200)
    await events.start()
    trickle(events, Shard(), 3)
    await eventually(lambda: len(poster.delivered()) == 12, 5)
    [(headers, batch, status)] = poster.attempts  # one POST for four guilds, not four
    assert status == 200 and headers["X-Delivery-Attempt"] == "1"
    assert sorted(runs(batch)) == sorted(GUILDS)  # each guild's events together
    for guild in GUILDS:
        assert contents(poster, guild) == ["m0", "m1", "m2"]
    assert (events.stats.shared_posts, events.stats.shared_split) == (1, 0)
    assert events.pending == 0 and events.lanes.in_flight == 0
    await events.stop()


async def test_a_shared_post_holds_at_most_batch_max_events_and_takes_parts_of_a_lane() -> None:
    poster = Poster()
    events = service(poster, batch_max=5, batch_wait_ms=200)
    await events.start()
    trickle(events, Shard(), 3)  # 12 events: 5 + 5 + 2
    await eventually(lambda: len(poster.delivered()) == 12, 5)
    assert all(len(batch) <= 5 for _, batch, _ in poster.attempts)
    for guild in GUILDS:  # a lane split over two POSTs is still in order
        assert contents(poster, guild) == ["m0", "m1", "m2"]
    assert events.pending == 0
    await events.stop()


async def test_a_failed_shared_post_sends_each_part_alone_and_the_failing_guild_retries() -> None:
    failing = {"on": True}

    def answer(batch: list[dict[str, Any]]) -> int:
        return 500 if failing["on"] and any(e["guild_id"] == "3" for e in batch) else 200

    poster = Poster(answer)
    events = service(poster, clock=SlowClock(), batch_max=50, batch_wait_ms=200)
    await events.start()
    shard = Shard()
    trickle(events, shard, 2)
    await eventually(lambda: len(poster.delivered()) == 6, 5)  # the three healthy guilds
    shared_id = poster.attempts[0][0]["X-Delivery-Id"]
    assert len(runs(poster.attempts[0][1])) == 4 and poster.attempts[0][2] == 500
    # each healthy guild's part went alone, at once, a new batch
    alone = [(h, b) for h, b, s in poster.attempts[1:] if s == 200]
    assert sorted(runs(b)[0] for _, b in alone) == ["1", "2", "4"]
    assert all(len(runs(b)) == 1 and h["X-Delivery-Id"] != shared_id for h, b in alone)
    # guild 3 is retried alone, and while it is, new events of the others share POSTs
    trickle(events, shard, 2, start=2)
    await eventually(lambda: len(poster.delivered()) == 12, 5)
    after_split = poster.attempts[1:]
    assert all(runs(b) == ["3"] for _, b, _ in after_split if any(e["guild_id"] == "3" for e in b))
    assert any(len(runs(b)) == 3 for _, b, s in after_split if s == 200)  # 1, 2, 4 shared again
    failing["on"] = False
    await eventually(lambda: len(poster.delivered()) == 16, 5)
    for guild in GUILDS:
        assert contents(poster, guild) == ["m0", "m1", "m2", "m3"]
    retries = [h for h, b, _ in after_split if runs(b) == ["3"]]
    assert [h["X-Delivery-Attempt"] for h in retries[:2]] == ["1", "2"]  # its own retries
    assert events.stats.shared_split == 1 and events.dead == {}
    assert events.pending == 0 and events.lanes.in_flight == 0
    await events.stop()


async def test_a_4xx_on_a_shared_post_makes_dead_letters_only_of_the_refused_guild() -> None:
    poster = Poster(lambda batch: 422 if any(e["guild_id"] == "2" for e in batch) else 200)
    events = service(poster, batch_max=50, batch_wait_ms=200)
    await events.start()
    trickle(events, Shard(), 2)
    await eventually(lambda: len(events.dead) == 2 and len(poster.delivered()) == 6, 5)
    assert len(runs(poster.attempts[0][1])) == 4 and poster.attempts[0][2] == 422  # shared
    dead = await events.dead_letters()
    assert {d["guild_id"] for d in dead} == {"2"}
    assert [d["last_status"] for d in dead] == [422, 422]
    assert sorted({e["guild_id"] for e in poster.delivered()}) == ["1", "3", "4"]
    await events.stop()


async def test_a_shared_post_answered_429_waits_its_retry_after_before_the_parts_go() -> None:
    clock = Clock()
    answers = iter([429])
    poster = Poster(lambda batch: next(answers, 200), headers={429: {"retry-after": "7"}})
    events = service(poster, clock=clock, batch_max=50, batch_wait_ms=200)
    await events.start()
    trickle(events, Shard(), 1)
    await eventually(lambda: len(poster.delivered()) == 4, 5)
    assert len(runs(poster.attempts[0][1])) == 4 and poster.attempts[0][2] == 429  # shared
    first, *parts = [int(h["X-Signature-Timestamp"]) for h, _, _ in poster.attempts]
    assert len(parts) == 4 and all(at - first >= 7 for at in parts)
    await events.stop()


async def test_a_lane_taken_along_keeps_its_order_with_events_that_come_meanwhile() -> None:
    poster = Poster(delay=0.05)
    events = service(poster, batch_max=50, batch_wait_ms=100)
    await events.start()
    shard = Shard()
    for n in range(60):  # every 5 ms, over ~300 ms: POSTs in flight while more come
        trickle(events, shard, 1, start=n)
        await asyncio.sleep(0.005)
    await eventually(lambda: len(poster.delivered()) == 240, 10)
    for guild in GUILDS:
        assert contents(poster, guild) == [f"m{n}" for n in range(60)]
    assert events.stats.shared_posts >= 1 and events.pending == 0
    await events.stop()
