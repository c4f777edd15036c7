"""Quiet hours: a daily window of local time (in an IANA zone) in which a timer's clock stops.

A window `start`-`end` ("23:00"-"08:00") is read each local day: it starts on that day at
`start` and ends at `end`, on the next day when `end` is not after `start` (across midnight).
Local times become instants with zoneinfo, so a daylight-saving change is handled as the wall
clock shows it: quiet 23:00-08:00 lasts 8 real hours on the night the clocks spring forward
and 10 on the night they fall back. A boundary inside the spring-forward gap (02:30 on that
day) is read with the offset before the change (PEP 495, fold=0): the first real instant
after the gap; one inside the repeated hour is its first occurrence.

All instants are unix milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_DAY = timedelta(days=1)
#: The longest quiet window: it leaves a timer's clock at least 4 hours a day, so that the due
#: time of the longest timer stays a few hundred windows away.
MAX_QUIET_MINUTES = 20 * 60


@lru_cache(maxsize=256)
def zone(name: str) -> ZoneInfo:
    """The zone named `name` (KeyError-free: ValueError for a name that is not a zone)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("not an IANA time zone name") from exc


def valid_zone(name: object) -> bool:
    if not isinstance(name, str) or not name or len(name) > 64:
        return False
    try:
        zone(name)
    except ValueError:
        return False
    return True


def minutes(text: str) -> int:
    """Minutes after midnight of a 24-hour "HH:MM"."""
    hours, mins = text.split(":")
    return int(hours) * 60 + int(mins)


def window_minutes(start: int, end: int) -> int:
    """How long a window start-end lasts on an ordinary day, in minutes (end not after start:
    across midnight)."""
    return end - start if end > start else end + 24 * 60 - start


@dataclass(frozen=True, slots=True)
class Quiet:
    """A quiet window: `start` and `end` in minutes after local midnight, zone name `tz`."""

    start: int
    end: int
    tz: str

    @classmethod
    def parse(cls, start: str, end: str, tz: str) -> Quiet:
        return cls(minutes(start), minutes(end), tz)

    def to_json(self) -> dict[str, str]:
        return {"start": _hhmm(self.start), "end": _hhmm(self.end), "tz": self.tz}

    def windows(self, after: int) -> Iterator[tuple[int, int]]:
        """The quiet windows (start, end) that end after `after`, in order, without end."""
        tz = zone(self.tz)
        day = datetime.fromtimestamp(after / 1000, tz).date() - _DAY
        while True:
            begins = _instant(day, self.start, tz)
            ends = _instant(day if self.end > self.start else day + _DAY, self.end, tz)
            if ends > begins and ends > after:
                yield begins, ends
            day += _DAY


def _hhmm(mins: int) -> str:
    return f"{mins // 60:02d}:{mins % 60:02d}"


def _instant(day: date, mins: int, tz: ZoneInfo) -> int:
    local = datetime(day.year, day.month, day.day, mins // 60, mins % 60, tzinfo=tz)
    return int(local.timestamp() * 1000)


def advance(start: int, run_ms: int, quiet: Quiet | None) -> int:
    """The instant at which a clock started at `start` with `run_ms` to run reaches zero, its
    clock stopped inside every quiet window."""
    if quiet is None:
        return start + run_ms  # a fire_at in the past gives a due time in the past
    if run_ms <= 0:
        return start
    at, left = start, run_ms
    for begins, ends in quiet.windows(at):
        if at < begins:
            gap = begins - at
            if left <= gap:
                return at + left
            left -= gap
        at = ends
    raise AssertionError("unreachable: windows() does not end")  # pragma: no cover


def running_between(start: int, end: int, quiet: Quiet | None) -> int:
    """Milliseconds the clock runs from `start` to `end` (quiet windows left out)."""
    if end <= start:
        return 0
    total = end - start
    if quiet is None:
        return total
    for begins, ends in quiet.windows(start):
        if begins >= end:
            break
        total -= max(0, min(ends, end) - max(begins, start))
    return total
