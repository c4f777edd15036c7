"""Discord's clock, bounded from the `Date` header of Discord's answers.

An interaction's age is Discord's time now minus its snowflake time; this machine's clock may
be off by seconds. A `Date` header is truncated to the second, and Discord wrote it between our
send of the request and our receipt of its answer, so each answer bounds the offset (Discord's
time minus ours): `date - received <= offset < date + 1 - sent`. The bounds of the answers of
the last WINDOW seconds are intersected (each widened by DRIFT per second of its age); the
interval narrows to about a round trip once requests have gone out at different points of a
second, and is a second wide after the first answer.

`now()` is our own time while the bounds allow it (a synchronised clock is more precise than a
header in seconds), else the interval's upper end: Discord's time at the latest, so an age is
not measured short. The estimate before (the mean of the answers' midpoints `date + 0.5 -
received`, taken as 0 within 0.75 s) was no bound: answers read late (a RESUME replay's burst
of callbacks on a busy event loop) pulled it up to a second behind Discord's time although the
clocks agreed, and a real offset under 0.75 s was ignored however clear; an interaction
replayed 3.5 s after its creation then passed for 2.7 s old and was acknowledged or forwarded
(issue 20 item 5). What is left: while our clock is off by less than the bounds' width (a
second after the first answer, a round trip once requests went out through a second), an age
may be short by that offset.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from gateway.clock import SYSTEM_CLOCKS, Clocks

#: Answers older than this (seconds, by our clock) are forgotten.
WINDOW = 900.0
#: At most this many seconds' bounds are kept (one entry per distinct `Date` value).
MAX_SPANS = 64
#: How fast two unsynchronised clocks may drift apart (100 ppm: a cheap crystal's twice):
#: a bound learnt t seconds ago is widened by DRIFT * t.
DRIFT = 1e-4


@dataclass(slots=True)
class _Span:
    """The offset's bounds from the answers of one second (one `Date` value)."""

    date: str
    received: float  # our unix time, of the first of them
    lower: float
    upper: float


class DiscordClock:
    def __init__(self, *, clocks: Clocks = SYSTEM_CLOCKS) -> None:
        self._wall = clocks.wall
        self._spans: deque[_Span] = deque()  # oldest first
        #: Discord's time minus ours: at least, at most (as of `self._at`, our time of the
        #: last answer), and the one `now()` adds (0 while the bounds hold 0, else `upper`)
        self.lower = 0.0
        self.upper = 0.0
        self.offset = 0.0
        self._at = 0.0
        # the header changes once a second: the last one, parsed (observe() is on every answer)
        self._last: tuple[str, float] | None = None

    def observe(self, date_header: str | None, sent: float, received: float) -> None:
        """Take the `Date` header of an answer to a request sent at `sent` and answered at
        `received` (our unix times)."""
        if not date_header:
            return
        last = self._last
        if last is not None and last[0] == date_header:
            discord_time = last[1]
        else:
            try:
                discord_time = parsedate_to_datetime(date_header).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                return
            self._last = (date_header, discord_time)
        low = discord_time - received
        high = discord_time + 1.0 - min(sent, received)
        spans = self._spans
        known = len(spans)  # the spans the last bounds came from (all still kept?)
        newest = spans[-1] if spans else None
        if newest is not None and newest.date == date_header:  # the same second: tighten it
            newest.lower = max(newest.lower, low)
            newest.upper = min(newest.upper, high)
            if newest.lower > newest.upper:  # a clock stepped within the second
                newest.lower, newest.upper = low, high
                known = 0
        else:
            spans.append(_Span(date_header, received, low, high))
            known += 1
            while len(spans) > MAX_SPANS or received - spans[0].received > WINDOW:
                spans.popleft()
        if known > 1 and len(spans) == known:  # nothing forgotten: the last bounds, aged
            widen = DRIFT * max(0.0, received - self._at)
            lower = max(self.lower - widen, low)
            upper = min(self.upper + widen, high)
            if lower <= upper:
                self._bounds(lower, upper, max(received, self._at))
                return
        self._intersect(received)

    def _intersect(self, at: float) -> None:
        """The bounds of every kept answer as of `at`; when they disagree (a clock stepped,
        ours or Discord's), the oldest are forgotten until they agree."""
        spans = self._spans
        while True:
            lower = max(s.lower - DRIFT * abs(at - s.received) for s in spans)
            upper = min(s.upper + DRIFT * abs(at - s.received) for s in spans)
            if lower <= upper or len(spans) == 1:
                self._bounds(lower, upper, at)
                return
            spans.popleft()

    def _bounds(self, lower: float, upper: float, at: float) -> None:
        self.lower, self.upper, self._at = lower, upper, at
        self.offset = 0.0 if lower <= 0.0 <= upper else upper

    def now(self) -> float:
        """Discord's unix time now: ours while the bounds allow it, else at the latest."""
        wall = self._wall()
        offset = self.offset
        if offset:  # the upper bound, widened by the drift since
            offset += DRIFT * max(0.0, wall - self._at)
        return wall + offset
