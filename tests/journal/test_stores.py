"""Journal stores: claims, entries, persistence across a reopen, the 15-minute expiry."""

from __future__ import annotations

import asyncio
import time

import orjson

from gateway.clock import Clocks
from gateway.journal.interactions import HANDLED_TTL, JournalEntry, MemoryJournal
from tests.journal.conftest import Opener


def entry(n: int, created_at: float, mode: str = "deferred") -> JournalEntry:
    raw = orjson.dumps({"id": str(n), "type": 2, "token": f"tok{n}"}) + b" \n\xff"  # any bytes
    return JournalEntry(str(n), created_at, raw, mode, 5 if mode != "respond" else None)


async def test_claim_is_true_once_per_id(open_journal: Opener) -> None:
    journal = await open_journal()
    now = time.time()
    assert await journal.claim("1", now) is True
    assert await journal.claim("1", now) is False
    assert await journal.claim("2", now) is True


async def test_entries_kept_byte_for_byte_oldest_first_until_finished(
    open_journal: Opener,
) -> None:
    journal = await open_journal()
    now = time.time()
    e1, e2, e3 = entry(1, now - 5), entry(2, now - 10, "respond"), entry(3, now - 1)
    for e in (e1, e2, e3):
        await journal.record(e)
    assert await journal.pending() == [e2, e1, e3]
    await journal.finish("1")
    await journal.drop("3")
    await journal.finish("404")  # finishing what is not there is fine
    assert await journal.pending() == [e2]


async def test_claims_and_entries_survive_a_reopen(open_durable: Opener) -> None:
    first = await open_durable()
    now = time.time()
    assert await first.claim("7", now)
    await first.record(entry(7, now))
    assert await first.claim("8", now)
    await first.record(entry(8, now))
    await first.finish("8")
    await first.aclose()

    second = await open_durable()
    assert await second.claim("7", now) is False  # a restart does not forget the handled ids
    assert await second.claim("8", now) is False
    assert await second.pending() == [entry(7, now)]


async def test_handled_ids_expire_15_minutes_after_creation(open_durable: Opener) -> None:
    now = time.time()
    journal = await open_durable()
    # Created 15 minutes minus 1 s ago: handled for one more second only.
    assert await journal.claim("old", now - HANDLED_TTL + 1)
    assert await journal.claim("new", now)
    await journal.aclose()
    await asyncio.sleep(1.5)
    later = await open_durable()
    assert await later.claim("old", now - HANDLED_TTL + 1) is True  # forgotten
    assert await later.claim("new", now) is False


async def test_many_concurrent_writes_all_committed(open_durable: Opener) -> None:
    journal = await open_durable()
    now = time.time()
    claims = await asyncio.gather(*(journal.claim(str(i), now) for i in range(2000)))
    assert all(claims)
    await asyncio.gather(*(journal.record(entry(i, now + i / 1000)) for i in range(2000)))
    await asyncio.gather(*(journal.finish(str(i)) for i in range(0, 2000, 2)))
    await journal.aclose()
    reopened = await open_durable()
    pending = await reopened.pending()
    assert [e.interaction_id for e in pending] == [str(i) for i in range(1, 2000, 2)]


async def test_memory_journal_is_bounded() -> None:
    journal = MemoryJournal(limit=3)
    now = time.time()
    for i in range(5):
        assert await journal.claim(str(i), now)
        await journal.record(entry(i, now + i))
    assert [e.interaction_id for e in await journal.pending()] == ["2", "3", "4"]
    assert await journal.claim("4", now) is False
    assert await journal.claim("0", now) is True  # pushed out by newer ids


async def test_redis_sets_expire_after_the_last_id_and_drop_expired_ids(redis_url: str) -> None:
    import redis.asyncio as aioredis

    from gateway.journal.interactions_redis import SET_TTL, UPKEEP_EVERY, RedisJournal

    now = [time.time()]
    journal = await RedisJournal.open(redis_url, "upkeep:", clocks=Clocks(wall=lambda: now[0]))
    client = aioredis.Redis.from_url(redis_url)
    try:
        assert await journal.claim("gone", now[0] - HANDLED_TTL - 5)  # already expired
        await journal.record(entry(1, now[0]))
        now[0] += UPKEEP_EVERY + 1  # the next claim does the upkeep
        assert await journal.claim("kept", now[0])
        await journal.record(entry(2, now[0]))
        members = await client.zrange("upkeep:handled", 0, -1)
        assert members == [b"kept"]
        for key in ("upkeep:handled", "upkeep:pending:all"):
            assert SET_TTL - 5 <= await client.ttl(key) <= SET_TTL
        assert SET_TTL >= HANDLED_TTL + UPKEEP_EVERY
    finally:
        await journal.aclose()
        await client.aclose()


async def test_a_redis_group_adopts_a_dead_groups_entries_once(redis_url: str) -> None:
    from gateway.journal.interactions_redis import RedisJournal

    now = time.time()
    dead = await RedisJournal.open(redis_url, "adopt:", group="node:a")
    taker = await RedisJournal.open(redis_url, "adopt:", group="node:b")
    late = await RedisJournal.open(redis_url, "adopt:", group="node:c")
    try:
        e1, e2 = entry(1, now - 2), entry(2, now - 3)
        for e in (e1, e2):
            await dead.record(e)
        await taker.record(entry(3, now - 1))
        assert await late.pending() == []  # a group replays only its own
        assert await taker.adopt("node:a") == [e2, e1]  # oldest first, byte for byte
        assert await late.adopt("node:a") == []  # one adopter gets them
        assert await dead.pending() == []
        assert [e.interaction_id for e in await taker.pending()] == ["2", "1", "3"]
        assert await taker.adopt("node:b") == []  # never its own
    finally:
        for journal in (dead, taker, late):
            await journal.aclose()


async def test_a_journal_of_one_process_adopts_nothing(open_journal: Opener) -> None:
    journal = await open_journal()
    await journal.record(entry(1, time.time()))
    assert await journal.adopt("node:other") == []
    assert len(await journal.pending()) == 1
