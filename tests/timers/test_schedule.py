"""The heap: earliest first, stale entries skipped, rebuilt when they pile up."""

from __future__ import annotations

from gateway.timers import schedule
from gateway.timers.schedule import Schedule


def test_pops_in_time_order_and_skips_replaced_entries() -> None:
    s = Schedule()
    s.push(300, "c", 1)
    s.push(100, "a", 1)
    s.push(200, "b", 1)
    s.push(400, "a", 2)  # a changed: its entry at 100 is stale
    assert s.next_at() == 200
    assert s.pop_due(150) is None
    assert s.pop_due(1000) == ("b", 1)
    assert s.pop_due(1000) == ("c", 1)
    assert s.pop_due(1000) == ("a", 2)
    assert s.pop_due(1000) is None and len(s) == 0


def test_discard_and_rebuild_when_stale_entries_outnumber_the_live() -> None:
    s = Schedule()
    for i in range(10):
        s.push(i, f"t{i}", 0)
    for version in range(1, schedule.MIN_STALE_FOR_REBUILD + 5):
        s.push(1_000 + version, "t0", version)  # the same timer extended again and again
    assert s.heap_size() < schedule.MIN_STALE_FOR_REBUILD + 10
    s.discard("t1")
    order = []
    while (due := s.pop_due(10**9)) is not None:
        order.append(due[0])
    assert order == [f"t{i}" for i in range(2, 10)] + ["t0"]
