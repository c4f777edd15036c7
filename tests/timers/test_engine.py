"""The timers' engine with an injected clock: due times, reminders, pause/resume/extend,
cancel, idempotent creation, a restart on the same store, a store that fails."""

from __future__ import annotations

import pytest

from gateway.journal.timers import StoreUnavailable
from gateway.timers.engine import TimerConflict, TimerNotFound
from gateway.timers.model import Kind, State
from tests.timers.support import T0, harness, spec


async def test_a_duration_timer_fires_at_its_due_time_never_before() -> None:
    h = harness()
    timer, created = await h.engine.create(spec("pick:1", duration_ms=30_000, payload={"n": 1}))
    assert created and timer.due_at == T0 + 30_000
    assert timer.view(T0)["remaining_ms"] == 30_000
    assert await h.at(T0 + 29_999) == []
    [fire] = await h.at(T0 + 30_000)
    assert (fire.kind, fire.timer_id, fire.due_at, fire.payload) == (
        Kind.FIRE,
        "pick:1",
        T0 + 30_000,
        {"n": 1},
    )
    assert h.engine.get("pick:1").state is State.FIRED
    assert h.engine.get("pick:1").view(T0 + 40_000)["due_at"] == T0 + 30_000
    assert await h.at(T0 + 90_000) == []  # once
    assert h.store.outbox.keys() == {fire.id}  # stored with its delivery


async def test_a_fire_at_timer_is_due_at_that_instant() -> None:
    h = harness()
    timer, _ = await h.engine.create(spec("deadline", fire_at=T0 + 3_600_000))
    assert timer.due_at == T0 + 3_600_000
    assert await h.at(T0 + 3_599_999) == []
    assert [d.due_at for d in await h.at(T0 + 3_600_000)] == [T0 + 3_600_000]


async def test_reminders_fall_due_when_the_clock_has_that_much_left() -> None:
    h = harness()
    timer, _ = await h.engine.create(spec(duration_ms=30_000, reminders_ms=[10_000, 25_000]))
    assert timer.view(T0)["reminders_at"] == [T0 + 5_000, T0 + 20_000]
    [first] = await h.at(T0 + 5_000)
    assert (first.kind, first.remaining_ms, first.due_at) == (Kind.REMINDER, 25_000, T0 + 5_000)
    assert await h.at(T0 + 19_999) == []
    [second] = await h.at(T0 + 20_000)
    assert second.remaining_ms == 10_000
    [fire] = await h.at(T0 + 30_000)
    assert fire.kind is Kind.FIRE
    assert len({first.id, second.id, fire.id}) == 3  # each its own delivery id


async def test_a_reminder_longer_than_the_timer_is_never_sent() -> None:
    h = harness()
    await h.engine.create(spec(duration_ms=5_000, reminders_ms=[10_000]))
    assert [d.kind for d in await h.at(T0 + 5_000)] == [Kind.FIRE]


async def test_everything_due_in_one_tick_is_delivered_reminders_first() -> None:
    h = harness()
    await h.engine.create(spec(duration_ms=30_000, reminders_ms=[10_000]))
    got = await h.at(T0 + 60_000)
    assert [d.kind for d in got] == [Kind.REMINDER, Kind.FIRE]
    body = got[1].body(T0 + 60_000)
    assert b'"late":true' in body


async def test_pause_keeps_the_remaining_time_and_resume_restarts_the_clock() -> None:
    h = harness()
    await h.engine.create(spec(duration_ms=30_000, reminders_ms=[10_000]))
    h.clock.ms = T0 + 12_000
    paused = await h.engine.pause("t1")
    assert paused.state is State.PAUSED and paused.view(T0 + 12_000)["remaining_ms"] == 18_000
    assert paused.due_at is None
    assert await h.at(T0 + 600_000) == []  # nothing falls due while paused
    assert h.engine.get("t1").view(T0 + 600_000)["remaining_ms"] == 18_000
    assert (await h.engine.pause("t1")).version == paused.version  # pausing again: no change
    resumed = await h.engine.resume("t1")
    assert resumed.due_at == T0 + 618_000
    [reminder] = await h.at(T0 + 608_000)
    assert reminder.remaining_ms == 10_000
    assert [d.kind for d in await h.at(T0 + 618_000)] == [Kind.FIRE]
    assert ("t1", "paused") in h.changes and ("t1", "fired") in h.changes


async def test_extend_moves_the_due_time_and_never_into_the_past() -> None:
    h = harness()
    await h.engine.create(spec(duration_ms=30_000, reminders_ms=[10_000]))
    h.clock.ms = T0 + 25_000
    [reminder] = await h.engine.tick()
    assert reminder.kind is Kind.REMINDER
    longer = await h.engine.extend("t1", 60_000)
    assert longer.due_at == T0 + 90_000
    # The reminder is ahead again: sent again when the clock has 10 s left.
    assert longer.view(h.engine.now())["reminders_at"] == [T0 + 80_000]
    assert [d.kind for d in await h.at(T0 + 80_000)] == [Kind.REMINDER]
    shorter = await h.engine.extend("t1", -5_000)
    assert shorter.due_at == T0 + 85_000
    gone = await h.engine.extend("t1", -10_000_000)
    assert gone.due_at == T0 + 80_000  # now, not the past
    assert [d.kind for d in await h.engine.tick()] == [Kind.FIRE]


async def test_extend_a_paused_timer_changes_what_it_will_have_left() -> None:
    h = harness()
    await h.engine.create(spec(duration_ms=30_000))
    await h.engine.pause("t1")
    extended = await h.engine.extend("t1", 15_000)
    assert extended.state is State.PAUSED and extended.view(T0)["remaining_ms"] == 45_000


async def test_cancel_stops_it_and_a_second_cancel_forgets_it() -> None:
    h = harness()
    await h.engine.create(spec(duration_ms=30_000))
    cancelled = await h.engine.cancel("t1")
    assert cancelled.state is State.CANCELLED
    assert await h.at(T0 + 60_000) == []
    with pytest.raises(TimerConflict):
        await h.engine.resume("t1")
    forgotten = await h.engine.cancel("t1")
    assert forgotten.state is State.CANCELLED
    with pytest.raises(TimerNotFound):
        h.engine.get("t1")
    assert "t1" not in h.store.timers
    _, created = await h.engine.create(spec(duration_ms=1_000))  # the id is free again
    assert created


async def test_the_same_body_again_is_the_existing_timer_another_body_is_a_conflict() -> None:
    h = harness()
    first, created = await h.engine.create(spec(duration_ms=30_000))
    h.clock.advance(1_000)
    again, created_again = await h.engine.create(spec(duration_ms=30_000))
    assert created and not created_again and again is first
    with pytest.raises(TimerConflict):
        await h.engine.create(spec(duration_ms=31_000))


async def test_a_restart_delivers_what_fell_due_meanwhile_and_the_unfinished_outbox() -> None:
    before = harness()
    await before.engine.create(spec("a", duration_ms=10_000))
    await before.engine.create(spec("b", duration_ms=20_000, reminders_ms=[5_000]))
    await before.engine.create(spec("c", duration_ms=600_000))
    [fire_a] = await before.at(T0 + 10_000)  # stored in the outbox; never answered
    # The process dies here; the next one starts 60 s later on the same store.
    after = harness(store=before.store)
    after.clock.ms = T0 + 70_000
    outbox = await after.engine.load()
    assert [d.id for d in outbox] == [fire_a.id]
    due = await after.engine.tick()
    assert [(d.timer_id, d.kind) for d in due] == [("b", Kind.REMINDER), ("b", Kind.FIRE)]
    assert all(b'"late":true' in d.body(T0 + 70_000) for d in due)
    assert after.engine.get("c").state is State.RUNNING
    assert after.engine.pending == 1
    assert ("c", "running") in after.changes  # the overlay hears of it at start


async def test_a_failed_write_changes_nothing() -> None:
    h = harness()
    await h.engine.create(spec(duration_ms=30_000))
    h.store.fail = True
    with pytest.raises(StoreUnavailable):
        await h.engine.create(spec("t2", duration_ms=30_000))
    with pytest.raises(StoreUnavailable):
        await h.engine.pause("t1")
    assert h.engine.find_one("t2") is None
    assert h.engine.get("t1").state is State.RUNNING
    h.store.fail = False
    assert [d.timer_id for d in await h.at(T0 + 30_000)] == ["t1"]


async def test_finished_timers_are_forgotten_after_their_ttl() -> None:
    h = harness()
    await h.engine.create(spec(duration_ms=1_000))
    await h.at(T0 + 1_000)
    h.clock.ms = T0 + 1_000 + 24 * 3600 * 1000 - 1
    assert await h.engine.prune() == 0
    h.clock.advance(1)
    assert await h.engine.prune() == 1
    assert h.engine.find("") == [] and h.store.timers == {}


async def test_find_filters_by_prefix() -> None:
    h = harness()
    for timer_id in ("league1:pick:2", "league1:pick:1", "league2:pick:1"):
        await h.engine.create(spec(timer_id))
    assert [t.id for t in h.engine.find("league1:")] == ["league1:pick:1", "league1:pick:2"]
