"""Quiet hours with an injected clock: the clock does not run inside the window, across
midnight and across America/New_York's daylight-saving changes (2027-03-14 and 2027-11-07)."""

from __future__ import annotations

import pytest

from gateway.timers.model import Kind
from gateway.timers.quiet import Quiet, advance, running_between, valid_zone
from tests.timers.support import harness, local, local_ms, spec

NY = "America/New_York"
NIGHT = ("23:00", "08:00", NY)
MIN = 60_000


@pytest.mark.parametrize(
    ("day", "night_hours"),
    [((2027, 6, 1), 9), ((2027, 3, 13), 8), ((2027, 11, 6), 10)],
    ids=["ordinary night", "spring forward", "fall back"],
)
async def test_30_minutes_from_22_50_with_quiet_23_to_08_fall_due_at_08_20(
    day: tuple[int, int, int], night_hours: int
) -> None:
    h = harness()
    h.clock.ms = start = local_ms(NY, *day, 22, 50)
    timer, _ = await h.engine.create(
        spec(duration_ms=30 * MIN, quiet=NIGHT, reminders_ms=[5 * MIN])
    )
    assert timer.due_at is not None
    assert local(NY, timer.due_at).endswith("08:20:00 " + ("EST" if day[1] == 11 else "EDT"))
    # 10 minutes before the window, the night (8, 9 or 10 real hours), 20 minutes after it.
    assert timer.due_at - start == 30 * MIN + night_hours * 60 * MIN
    # Inside the window the clock stands still.
    h.clock.ms = local_ms(NY, *day, 23, 30)
    assert h.engine.get("t1").remaining(h.clock.ms) == 20 * MIN
    assert await h.engine.tick() == []
    # The reminder (5 min left) comes at 08:15 local, the fire at 08:20, not a moment before.
    [reminder] = await h.at(timer.due_at - 5 * MIN)
    assert reminder.kind is Kind.REMINDER and reminder.remaining_ms == 5 * MIN
    assert await h.at(timer.due_at - 1) == []
    assert [d.kind for d in await h.at(timer.due_at)] == [Kind.FIRE]


async def test_a_timer_started_inside_the_window_waits_for_its_end() -> None:
    h = harness()
    h.clock.ms = local_ms(NY, 2027, 3, 14, 1, 0)  # quiet, an hour before the clocks jump
    timer, _ = await h.engine.create(spec(duration_ms=10 * MIN, quiet=NIGHT))
    assert timer.due_at is not None
    assert local(NY, timer.due_at) == "2027-03-14 08:10:00 EDT"


async def test_pause_inside_the_window_and_resume_after_it() -> None:
    h = harness()
    h.clock.ms = local_ms(NY, 2027, 11, 6, 22, 0)
    await h.engine.create(spec(duration_ms=90 * MIN, quiet=NIGHT))
    h.clock.ms = local_ms(NY, 2027, 11, 7, 1, 30)  # inside the window (the repeated hour)
    paused = await h.engine.pause("t1")
    assert paused.remaining(h.clock.ms) == 30 * MIN  # ran 22:00-23:00 only
    h.clock.ms = local_ms(NY, 2027, 11, 7, 12, 0)
    resumed = await h.engine.resume("t1")
    assert resumed.due_at is not None
    assert local(NY, resumed.due_at) == "2027-11-07 12:30:00 EST"


async def test_extend_counts_only_running_time() -> None:
    h = harness()
    h.clock.ms = local_ms(NY, 2027, 6, 1, 22, 50)
    await h.engine.create(spec(duration_ms=5 * MIN, quiet=NIGHT))
    extended = await h.engine.extend("t1", 15 * MIN)
    assert extended.due_at is not None
    assert local(NY, extended.due_at) == "2027-06-02 08:10:00 EDT"


def test_a_window_within_one_day_and_the_clock_between_two_instants() -> None:
    lunch = Quiet.parse("12:00", "13:00", "Europe/Paris")
    start = local_ms("Europe/Paris", 2027, 7, 1, 11, 0)
    assert advance(start, 2 * 60 * MIN, lunch) == start + 3 * 60 * MIN
    assert running_between(start, start + 3 * 60 * MIN, lunch) == 2 * 60 * MIN
    assert running_between(start, start, lunch) == 0
    # Two windows: a 2-day clock from 11:00 runs 23 h a day.
    assert advance(start, 46 * 60 * MIN, lunch) == start + 48 * 60 * MIN


def test_a_window_boundary_inside_the_spring_forward_gap() -> None:
    gap = Quiet.parse("02:30", "05:00", NY)
    windows = gap.windows(local_ms(NY, 2027, 3, 13, 12, 0))
    begins, ends = next(windows)
    # 02:30 does not exist that night: the window starts at the first instant after the gap.
    assert local(NY, begins) == "2027-03-14 03:30:00 EDT"
    assert local(NY, ends) == "2027-03-14 05:00:00 EDT"


def test_zone_names() -> None:
    assert valid_zone("America/New_York") and valid_zone("UTC")
    assert not valid_zone("Mars/Olympus") and not valid_zone("") and not valid_zone(3)
    assert not valid_zone("../../etc/passwd")
