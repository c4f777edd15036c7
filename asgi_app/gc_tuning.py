"""CPython's garbage collector, set once per process when the server has started (the lifespan
start-up, asgi_app/factory.py; the relay's bench harness does the same).

Why: the objects of the requests in flight (each an interaction's task and coroutines, its
timeouts, httpx's and aiohttp's request and response: about 80 per request) all live long
enough to reach the oldest generation, and a full collection walks every object there. With
the modules imported at start-up (about 70,000 objects) a full collection took 77-100 ms in a
burst of 1,000 interactions, two or three times a second: those pauses were the
acknowledgements' p99 (docs/PERFORMANCE.md, "Interaction relay vs a discord.js relay").

- `gc.collect()` then `gc.freeze()`: what start-up made (modules, settings, the clients) moves
  to the permanent generation, which no later collection walks; it lives as long as the
  process anyway. What is freed by its reference count is still freed at once.
- A full collection after every `FULL_EVERY` collections of generation 1 instead of 10
  (generations 0 and 1 keep CPython's thresholds: their passes are short, ~2 ms in the burst):
  cycles among old objects wait longer to be collected, the pauses come ten times less often.

Only the first call in a process does anything (tests start many apps in one process).
"""

from __future__ import annotations

import gc

__all__ = ["FULL_EVERY", "tune_gc"]

#: Collections of generation 1 between two full collections (CPython's default: 10).
FULL_EVERY = 100

_tuned: list[bool] = []


def tune_gc() -> bool:
    """Freeze what start-up made and make full collections rarer; True the first time."""
    if _tuned:
        return False
    _tuned.append(True)
    gc.collect()
    gc.freeze()
    young, middle, _old = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_EVERY)
    return True
