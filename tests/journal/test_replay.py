"""What is replayed at start: entries younger than 15 minutes, oldest first; older ones
dropped with a log line; the journal is opened from the settings."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from gateway.clock import Clocks
from gateway.journal.interactions import JournalEntry, MemoryJournal
from gateway.journal.interactions_redis import RedisJournal
from gateway.journal.interactions_replay import open_journal, replay_pending
from gateway.journal.interactions_sqlite import SqliteJournal
from gateway.simulator import factory
from tests.support.harness.main_app import MainApp
from tests.support.harness.relay_stack import relay_stack, until


def entry(interaction_id: str, created_at: float) -> JournalEntry:
    return JournalEntry(
        interaction_id, created_at, b'{"id":"%s"}' % interaction_id.encode(), "deferred", 5
    )


async def test_young_entries_redelivered_oldest_first_old_ones_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = 1_800_000_000.0
    clocks = Clocks(wall=lambda: now)
    journal = MemoryJournal(clocks=clocks)
    for e in (entry("fresh", now - 2), entry("stale", now - 901), entry("older", now - 899)):
        await journal.record(e)
    seen: list[JournalEntry] = []

    async def forwarded(e: JournalEntry) -> str:
        seen.append(e)
        await journal.finish(e.interaction_id)
        return "ok"

    def redeliver(e: JournalEntry) -> asyncio.Task[str]:
        return asyncio.create_task(forwarded(e))

    with caplog.at_level(logging.INFO, logger="gateway.journal"):
        replay = await replay_pending(journal, redeliver, clocks=clocks)
    assert replay.redelivered == ["older", "fresh"]
    assert replay.dropped == ["stale"]
    assert await asyncio.gather(*replay.tasks) == ["ok", "ok"]
    assert [e.interaction_id for e in seen] == ["older", "fresh"]
    assert await journal.pending() == []
    dropped = [r for r in caplog.records if "stale" in r.getMessage()]
    assert dropped and "dropped" in dropped[0].getMessage()
    assert any("1 dropped" in r.getMessage() for r in caplog.records)


async def test_nothing_to_replay_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="gateway.journal"):
        replay = await replay_pending(MemoryJournal(), lambda e: None)
    assert replay.redelivered == replay.dropped == []
    assert not caplog.records


async def test_open_journal_picks_redis_then_state_dir_then_memory(
    tmp_path: Path, redis_url: str
) -> None:
    redis_journal = await open_journal(tmp_path, redis_url, shard_ids=[3, 1])
    assert isinstance(redis_journal, RedisJournal)
    assert repr(redis_journal) == "RedisJournal('discord:journal:pending:1,3')"
    await redis_journal.aclose()
    sqlite_journal = await open_journal(tmp_path, None)
    assert isinstance(sqlite_journal, SqliteJournal)
    assert sqlite_journal.path == tmp_path / "interactions.sqlite3"
    await sqlite_journal.aclose()
    assert isinstance(await open_journal(None, None), MemoryJournal)


async def test_entries_at_replay_time_come_from_the_durable_store(tmp_path: Path) -> None:
    now = time.time()
    first = await SqliteJournal.open(tmp_path)
    await first.record(entry("a", now - 1))
    await first.aclose()
    second = await SqliteJournal.open(tmp_path)
    try:
        replay = await replay_pending(second, lambda e: None)
        assert replay.redelivered == ["a"]
    finally:
        await second.aclose()


async def test_a_forward_cut_short_by_shutdown_and_told_leaves_the_journal() -> None:
    """The user shown the error at shutdown is finished: a restart must not forward it again."""
    journal = MemoryJournal()
    async with relay_stack(MainApp(delay=3.0), journal=journal) as stack:
        sent = await stack.send(factory.command())
        await until(lambda: len(stack.main.requests) == 1)  # acknowledged, forward in flight
        assert [e.interaction_id for e in await journal.pending()] == [sent["id"]]
        await stack.relay.drain(0.05)  # the grace ends: the forward is cancelled
        edits = stack.sim.rest.find("PATCH", "/webhooks/*/messages/@original")
        assert edits, "the user was told"
        assert await journal.pending() == []
