"""A gateway checkpoint never runs ahead of the events journal: every save awaits the journal's
barrier first (gateway/connection/checkpoint.py `JournalFirst`), and a barrier that fails
skips the save."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from gateway.connection import checkpoint
from gateway.connection.checkpoint import JournalFirst
from gateway.connection.manager import GatewayConfig, GatewayManager
from gateway.connection.session import SessionState
from gateway.events.model import Event
from gateway.journal.events import Change, MemoryEventStore, events_writer
from gateway.journal.group_commit import GroupCommit


class Backend:
    def __init__(self) -> None:
        self.saved: list[list[SessionState]] = []

    async def save_all(self, sessions: list[SessionState]) -> None:
        self.saved.append(sessions)

    async def load_all(self, shard_count: int, shard_ids: Sequence[int]) -> dict[int, SessionState]:
        return {}

    async def clear_all(self, shard_ids: Sequence[int]) -> None:
        return None


STATE = SessionState(0, 1, "s", 41, "ws://x")


async def test_a_save_waits_until_the_journal_has_written_what_came_before() -> None:
    store = MemoryEventStore()
    store.delay = 0.1
    journal: GroupCommit[Change[Event]] = events_writer(store, lambda changes: None)
    journal.submit(Change())
    backend = Backend()
    save = asyncio.ensure_future(JournalFirst(backend, journal.flush).save_all([STATE]))
    await asyncio.sleep(0.05)
    assert backend.saved == [] and store.transactions == 0
    await save
    assert store.transactions == 1 and backend.saved == [[STATE]]
    await journal.aclose()


async def test_a_failing_barrier_skips_the_save(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpoint, "BARRIER_TIMEOUT", 0.05)
    backend = Backend()

    async def stuck() -> None:
        await asyncio.sleep(10)

    async def broken() -> None:
        raise OSError("disk full")

    await JournalFirst(backend, stuck).save_all([STATE])
    await JournalFirst(backend, broken).save_all([STATE])
    assert backend.saved == []


def test_the_manager_wraps_its_session_store(tmp_path: Path) -> None:
    async def barrier() -> None:
        return None

    async def fetch() -> dict[str, object]:
        return {}

    config = GatewayConfig(token="t", intents=1, state_dir=tmp_path, checkpoint_barrier=barrier)
    manager = GatewayManager(config, fetch)
    assert isinstance(manager.session_store, JournalFirst)
    plain = GatewayManager(GatewayConfig(token="t", intents=1, state_dir=tmp_path), fetch)
    assert not isinstance(plain.session_store, JournalFirst)
