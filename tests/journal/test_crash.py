"""Issue 16: SIGKILL with 10 acknowledged interactions waiting for a main app that takes 4 s;
a restart on the same STATE_DIR forwards all 10 again with X-Redelivery and finishes them,
none acknowledged twice. Once with the SQLite journal, once with a real redis-server.

Each store's scenario runs once (module fixture); the tests read its result.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.journal.interactions_redis import RedisJournal
from gateway.journal.interactions_sqlite import SqliteJournal
from tests.journal.crash import CrashResult, sigkill_with_acknowledged
from tests.support.harness.redis_server import redis_server
from tests.support.tools import require_tool

COUNT = 10


async def _run(kind: str, state_dir: Path) -> tuple[CrashResult, int]:
    """The scenario, and how many journal entries are left once the second process stopped."""
    if kind == "sqlite":
        result = await sigkill_with_acknowledged(state_dir, count=COUNT)
        journal = await SqliteJournal.open(state_dir)
        try:
            return result, len(await journal.pending())
        finally:
            await journal.aclose()
    async with redis_server(require_tool("redis-server")) as url:
        result = await sigkill_with_acknowledged(state_dir, count=COUNT, REDIS_URL=url)
        redis_journal = await RedisJournal.open(url)  # the server's prefix and shard group
        try:
            return result, len(await redis_journal.pending())
        finally:
            await redis_journal.aclose()


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def crash(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[CrashResult, int]]:
    if request.param == "redis":
        require_tool("redis-server")
    state_dir = tmp_path_factory.mktemp(f"crash-{request.param}")
    yield asyncio.run(_run(request.param, state_dir))


def test_all_acknowledged_forwarded_again_with_redelivery(
    crash: tuple[CrashResult, int],
) -> None:
    result, _left = crash
    assert len(result.ids) == COUNT
    # Before the SIGKILL: each forwarded once, as a first delivery.
    assert sorted(r[0] for r in result.forwards_before) == sorted(result.ids), result.output
    assert all(r[1] is None for r in result.forwards_before)
    # After the restart: each forwarded again, same X-Interaction-Id, X-Redelivery: 1.
    again = [r for r in result.forwards_after if r[0] in set(result.ids)]
    assert sorted(r[0] for r in again) == sorted(result.ids), result.output
    assert all(r[1] == "1" for r in again)
    assert all(r[2] == "/command" for r in again)


def test_redeliveries_finished_and_none_acknowledged_twice(
    crash: tuple[CrashResult, int],
) -> None:
    result, left = crash
    # One callback request per interaction over both processes: no second acknowledgement,
    # even for a dispatch that a RESUME replays.
    assert result.callbacks == dict.fromkeys(result.ids, 1)
    # The main app answered every redelivery, and the journal holds nothing any more.
    assert result.main_finished >= 2 * COUNT
    assert left == 0, result.output


def test_session_resumed_after_sigkill(crash: tuple[CrashResult, int]) -> None:
    result, _left = crash
    # Session checkpoints while running (DESIGN checklist 15) leave a session to resume from.
    resumed = result.gateway_after["resumes"] > result.gateway_before["resumes"]
    assert resumed, result.output
    assert result.gateway_after["identifies"] == result.gateway_before["identifies"]
