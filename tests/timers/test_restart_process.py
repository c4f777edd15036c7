"""A real server process with a real clock (issue 23, "Shows it works"): timers due over the
next seconds, SIGKILL midway, a restart on the same store: every fire delivered, those due
during the outage with `late: true`, none delivered twice after a 2xx; SQLite, then Redis."""

from __future__ import annotations

from pathlib import Path

from gateway.timers.model import LATE_AFTER_MS
from tests.support.harness.redis_server import redis_server
from tests.support.tools import require_tool
from tests.timers.process import KillResult, kill_and_restart


def check(result: KillResult) -> None:
    main, timers = result.main, result.timers
    fires = main.fires_ok()
    assert sorted(fires) == sorted(timers), result.output[-3000:]
    twice = {timer_id: len(got) for timer_id, got in fires.items() if len(got) > 1}
    assert twice == {}
    assert all(r.signed for r in main.received)
    for r in main.received:
        body = r.body
        assert body["sent_at"] >= body["due_at"]  # never early
        assert body["late"] == (body["sent_at"] - body["due_at"] > LATE_AFTER_MS)
    # Before the kill and after the restart: within 1 s of the due time (first attempts).
    for timer_id, [fire] in fires.items():
        due = timers[timer_id]
        on_time = due < result.killed_at - 1000 or due > result.ready_at + 500
        if on_time and fire.attempt == 1:
            assert fire.body["sent_at"] - due < 1000, (timer_id, fire.body)
    # Due during the outage (well before the second process could start): delivered late.
    in_outage = [
        t
        for t, due in timers.items()
        if result.killed_at <= due < result.restarted_at - LATE_AFTER_MS
    ]
    assert len(in_outage) >= 3
    assert all(fires[t][0].body["late"] is True for t in in_outage)
    # A retried delivery keeps its id; its attempts count up.
    retried = [r for r in main.received if r.status == 503]
    assert retried
    for failed in retried:
        again = [
            r for r in main.received if r.delivery_id == failed.delivery_id and r.status == 200
        ]
        assert again and again[0].attempt >= 2
    assert any(due > result.ready_at + 500 for due in timers.values())
    # The reminders came too.
    reminders = {r.body["id"] for r in main.received if r.body["kind"] == "reminder"}
    assert reminders == {t for n, t in enumerate(sorted(timers)) if n % 10 == 0}


async def test_sigkill_and_restart_with_sqlite(tmp_path: Path) -> None:
    check(await kill_and_restart(tmp_path))


async def test_sigkill_and_restart_with_redis(tmp_path: Path) -> None:
    require_tool("redis-server")
    async with redis_server() as url:
        check(await kill_and_restart(tmp_path, REDIS_URL=url))
