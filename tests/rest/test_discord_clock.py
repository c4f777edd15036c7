"""Discord's clock from the `Date` header (gateway/rest/discord_clock.py), on fake clocks.

Issue 20 item 5: interactions replayed 3.0-3.99 s after their creation were acknowledged or
forwarded. A `Date` header says only the second. The estimate was the mean of the answers'
midpoints (`date + 0.5 - received`), taken as 0 within 0.75 s: answers read late pulled it
behind Discord's time (clocks that agree), and an offset under 0.75 s was ignored. Each answer
now bounds the offset; our clock is used while the bounds allow it, else the upper bound.
"""

from __future__ import annotations

import random
from email.utils import formatdate

import pytest

from gateway.clock import Clocks
from gateway.interactions.admission import Admission, Drop
from gateway.interactions.model import DISCORD_EPOCH_MS, Interaction
from gateway.rest.discord_clock import DRIFT, DiscordClock
from gateway.simulator import factory

START = 1_700_000_000.0


class World:
    """Our clock and Discord's, `skew` s apart; answers with the header Discord would send."""

    def __init__(self, skew: float) -> None:
        self.skew = skew
        self.now = START
        self.clock = DiscordClock(clocks=Clocks(wall=lambda: self.now))

    def discord(self) -> float:
        return self.now + self.skew

    def answer(self, to_discord: float, to_us: float) -> None:
        """A request sent now, stamped `to_discord` s later, read `to_us` s after that."""
        sent = self.now
        self.now += to_discord
        date = formatdate(self.discord(), usegmt=True)  # truncated to the second
        self.now += to_us
        self.clock.observe(date, sent, self.now)

    def through_a_second(self, answers: int = 12, step: float = 0.09) -> None:
        for _ in range(answers):
            self.now += step
            self.answer(0.005, 0.005)

    def behind(self) -> float:
        """How far `clock.now()` is behind Discord's time (> 0: an age would be short)."""
        return self.discord() - self.clock.now()

    def bounded(self) -> bool:
        return self.clock.lower <= self.skew <= self.clock.upper


def interaction_aged(world: World, age: float) -> Interaction:
    created_ms = int((world.discord() - age) * 1000)
    obj = factory.command() | {
        "id": str(((created_ms - DISCORD_EPOCH_MS) << 22) | 1),
        "token": "tok",
        "application_id": "1000",
    }
    interaction = Interaction.parse(obj)
    assert interaction is not None
    return interaction


def read_late_burst(world: World) -> None:
    """A RESUME replay's burst: 16 callbacks answered in the middle of one of Discord's
    seconds, read 0.8 s later by a busy event loop (the old estimate: 0.85 s behind)."""
    world.now += 1.5 - (world.discord() % 1.0)  # the middle of Discord's next second
    for _ in range(16):
        world.answer(0.001, 0.8)
        world.now -= 0.8
    world.now += 0.8


SKEWS = [-1.3, -0.4, 0.0, 0.25, 0.5, 0.74, 0.99, 7.3]


@pytest.mark.parametrize("skew", SKEWS)
def test_one_answer_bounds_the_offset_to_a_second(skew: float) -> None:
    for phase in (0.0, 0.3, 0.6, 0.95):
        world = World(skew)
        world.now += phase
        world.answer(0.01, 0.02)  # GET /gateway/bot, before the gateway connects
        assert world.bounded()
        assert world.clock.upper - world.clock.lower <= 1.0 + 0.03 + 1e-6
        if world.clock.lower <= 0.0 <= world.clock.upper:
            assert world.clock.now() == world.now  # ours: a synchronised clock is better
        else:
            assert world.clock.now() == world.now + world.clock.upper  # at the latest


@pytest.mark.parametrize("skew", SKEWS)
def test_answers_through_the_seconds_narrow_it_to_a_round_trip(skew: float) -> None:
    world = World(skew)
    rng = random.Random(skew)
    for _ in range(40):
        world.answer(rng.uniform(0, 0.01), rng.uniform(0, 0.01))
        assert world.bounded()
        world.now += rng.uniform(0.05, 0.2)
    assert world.clock.upper - world.clock.lower < 0.25
    if skew == 0.0:
        assert world.behind() == 0.0
    else:  # our clock is out of the bounds: the upper one, never behind
        assert -0.25 < world.behind() <= 1e-9


@pytest.mark.parametrize("skew", [0.0, -1.3, 7.3])
def test_a_burst_of_answers_read_late_does_not_pull_it_behind(skew: float) -> None:
    world = World(skew)
    world.answer(0.005, 0.005)
    read_late_burst(world)
    assert world.bounded()
    assert world.behind() <= 1e-9
    if skew == 0.0:
        assert world.behind() == 0.0


@pytest.mark.parametrize("age", [3.01, 3.2, 3.5, 3.99])
@pytest.mark.parametrize("setting", ["agreeing, burst read late", "0.25 s off", "0.74 s off"])
def test_an_interaction_3_to_4_s_old_is_too_old(setting: str, age: float) -> None:
    world = World({"0.25 s off": 0.25, "0.74 s off": 0.74}.get(setting, 0.0))
    world.answer(0.005, 0.005)
    if world.skew:
        world.through_a_second()  # the bounds leave our clock out
    else:
        read_late_burst(world)
    admission = Admission(world.clock.now, lambda: "1000")
    drop, seen_age = admission.check(interaction_aged(world, age))
    assert drop is Drop.TOO_OLD
    assert seen_age >= age - 0.001  # ms snowflake


@pytest.mark.parametrize("skew", [-0.6, 0.0, 0.25, 0.74, 7.3])
def test_fresh_interactions_are_still_admitted(skew: float) -> None:
    """Clocks that agree: exact from the first answer. Clocks apart: the upper bound, a second
    at most after one answer, about a round trip once requests went out through a second."""
    world = World(skew)
    world.answer(0.005, 0.005)
    admission = Admission(world.clock.now, lambda: "1000")
    for age in (0.0, 0.2, 1.0, 1.9) if skew else (0.0, 1.0, 2.5, 2.99):
        drop, seen_age = admission.check(interaction_aged(world, age))
        assert drop is None and abs(seen_age - age) <= 1.01, age
    world.through_a_second()
    for age in (0.0, 2.5, 2.8):
        drop, seen_age = admission.check(interaction_aged(world, age))
        assert drop is None and seen_age <= age + 0.11


def test_a_clock_step_is_followed() -> None:
    world = World(0.2)
    world.through_a_second(20, 0.13)
    world.skew = 2.6  # Discord's clock (or ours) stepped
    for _ in range(20):
        world.answer(0.005, 0.005)  # its bounds disagree with the older ones: those go
        assert world.bounded() and world.behind() <= 1e-9
        world.now += 0.13
    assert -world.behind() < 0.25


def test_bounds_learnt_long_ago_widen_with_the_clocks_drift() -> None:
    world = World(0.3)
    world.through_a_second()
    width = world.clock.upper - world.clock.lower
    ahead = world.clock.now() - world.now
    world.now += 600.0  # ten quiet minutes
    assert world.clock.now() - world.now == pytest.approx(ahead + 600 * DRIFT)
    world.answer(0.005, 0.005)  # a new second's bounds, intersected with the widened ones
    assert world.clock.upper - world.clock.lower <= width + 2 * 601 * DRIFT
    assert world.bounded() and world.behind() <= 1e-9
