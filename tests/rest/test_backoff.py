"""The one backoff formula (gateway/backoff.py) of the REST retries (exact delays asserted in
test_rest_callbacks.py and test_rest_failures.py), the forwards and the deliveries."""

from __future__ import annotations

import math

import pytest

from gateway.backoff import Jitter, backoff_delay, ceiling


def test_exponential_from_base_capped() -> None:
    assert [ceiling(n, 0.5) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert [ceiling(n, 1.0, cap=5.0) for n in (1, 3, 4, 100)] == [1.0, 4.0, 5.0, 5.0]
    assert ceiling(10_000, 1.0) == 2.0**60  # no float overflow, however many attempts
    assert ceiling(10_000, 1.0, 300.0) == 300.0


@pytest.mark.parametrize(
    ("jitter", "low", "high"),
    [(Jitter.NONE, 4.0, 4.0), (Jitter.HALF, 2.0, 4.0), (Jitter.FULL, 0.0, 4.0)],
)
def test_jitter_scales_the_ceiling(jitter: Jitter, low: float, high: float) -> None:
    assert backoff_delay(3, 1.0, jitter=jitter, rng=lambda: 0.0) == low
    assert math.isclose(backoff_delay(3, 1.0, jitter=jitter, rng=lambda: 1.0), high)
    middle = backoff_delay(3, 1.0, jitter=jitter, rng=lambda: 0.5)
    assert low <= middle <= high


def test_no_jitter_draws_nothing() -> None:
    def rng() -> float:
        raise AssertionError("the REST retries are not jittered")

    assert backoff_delay(2, 0.25, rng=rng) == 0.5
