"""The one backoff formula of the project; every room may import it.

Attempt n (1, 2, ...) waits `base * 2**(n-1)`, at most `cap`, times a jitter:
- `Jitter.NONE`: exactly that (the REST client's retries, gateway/rest/rules.py; the gateway's
  wait after repeated op 9 invalid sessions, from a base drawn in 1-5 s, state_machine.py);
- `Jitter.HALF`: x0.5-1 (the forwards, gateway/interactions/forward.py, and the deliveries to
  the main app, gateway/delivery/sender.py);
- `Jitter.FULL`: x0-1 (the gateway's reconnects, gateway/connection/backoff.py, which adds its
  floor after the first fast attempts).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from enum import StrEnum


class Jitter(StrEnum):
    NONE = "none"
    HALF = "half"
    FULL = "full"


def ceiling(attempt: int, base: float, cap: float = math.inf) -> float:
    """`base * 2**(attempt-1)`, at most `cap`: the delay before jitter."""
    # 2**60 is far past any cap; it keeps a huge attempt count from overflowing the float.
    return min(cap, base * 2.0 ** min(attempt - 1, 60))


def backoff_delay(
    attempt: int,
    base: float,
    cap: float = math.inf,
    jitter: Jitter = Jitter.NONE,
    rng: Callable[[], float] = random.random,
) -> float:
    """The seconds to wait before attempt `attempt + 1` (`rng()` in [0, 1))."""
    top = ceiling(attempt, base, cap)
    if jitter is Jitter.HALF:
        return top * (0.5 + rng() / 2)
    if jitter is Jitter.FULL:
        return top * rng()
    return top
