"""The plan (gateway/connection/lease_plan.py): every node reading the same view reaches the
same plan; followed step by step, the nodes end up holding every shard once, balanced."""

from __future__ import annotations

import random

from gateway.connection.lease_plan import plan, targets


def _settle(count: int, nodes: list[str], holders: dict[int, str | None]) -> dict[int, str | None]:
    """Let every node follow its plan on the same view, round after round, until none moves."""
    for _ in range(20):
        moved = False
        for node in nodes:  # gives first (a node's hand-over), then takes
            for shard in plan(node, count, holders, nodes).give:
                holders[shard] = None
                moved = True
        for node in nodes:
            for shard in plan(node, count, holders, nodes).take:
                assert holders[shard] is None, "planned a held shard"
                holders[shard] = node
                moved = True
        if not moved:
            return holders
    raise AssertionError("the plan never settled")


def _counts(nodes: list[str], holders: dict[int, str | None]) -> list[int]:
    return [sum(1 for h in holders.values() if h == n) for n in nodes]


def test_targets_differ_by_at_most_one_and_sum_to_the_count() -> None:
    for count in range(1, 30):
        for n in range(1, 7):
            goal = targets({f"n{i}": i % 3 for i in range(n)}, count)
            assert sum(goal.values()) == count
            assert max(goal.values()) - min(goal.values()) <= 1


def test_a_cold_start_plans_disjoint_shards_for_every_node() -> None:
    nodes = ["a", "b", "c"]
    free: dict[int, str | None] = dict.fromkeys(range(8))
    takes = [set(plan(n, 8, free, nodes).take) for n in nodes]
    assert set().union(*takes) == set(range(8))
    assert sum(len(t) for t in takes) == 8
    assert sorted(len(t) for t in takes) == [2, 3, 3]


def test_from_any_start_every_shard_is_held_once_and_balanced() -> None:
    rng = random.Random(7)
    for _ in range(300):
        count = rng.randint(1, 24)
        nodes = [f"node{i}" for i in range(rng.randint(1, 6))]
        holders: dict[int, str | None] = {
            s: rng.choice([None, *nodes, *nodes]) for s in range(count)
        }
        settled = _settle(count, nodes, holders)
        assert all(h is not None for h in settled.values())
        counts = _counts(nodes, settled)
        assert max(counts) - min(counts) <= 1, counts


def test_a_node_joining_takes_its_share_from_the_others() -> None:
    nodes = ["a", "b"]
    holders: dict[int, str | None] = {s: ("a" if s < 4 else "b") for s in range(8)}
    assert plan("a", 8, holders, nodes).give == ()
    gives = {n: plan(n, 8, holders, [*nodes, "c"]).give for n in nodes}
    assert sorted(len(g) for g in gives.values()) == [1, 1]
    settled = _settle(8, [*nodes, "c"], holders)
    assert sorted(_counts(["a", "b", "c"], settled)) == [2, 3, 3]


def test_a_dead_nodes_shards_go_to_the_survivors_once_free() -> None:
    holders: dict[int, str | None] = {s: "abc"[s % 3] for s in range(8)}
    # "c" is dead (not live) but its leases have not expired: nothing moves yet
    assert plan("a", 8, holders, ["a", "b"]).take == ()
    for shard, node in holders.items():
        if node == "c":
            holders[shard] = None
    takes = {n: plan(n, 8, holders, ["a", "b"]).take for n in "ab"}
    assert set(takes["a"]) | set(takes["b"]) == {2, 5}
    assert not set(takes["a"]) & set(takes["b"])


def test_a_free_shard_planned_for_a_stuck_node_is_anyones_after_the_grace() -> None:
    holders: dict[int, str | None] = {0: "a", 1: "b", 2: None, 3: "a"}
    live = ["a", "b", "c"]
    assert [n for n in live if 2 in plan(n, 4, holders, live).take] == ["c"]
    assert plan("b", 4, holders, live, free_for={2: 0.1}, grace=1).take == ()
    assert plan("b", 4, holders, live, free_for={2: 2.0}, grace=1).take == (2,)
    assert plan("a", 4, holders, live, free_for={2: 2.0}, grace=1).take == ()  # at its share


def test_a_settling_node_takes_nothing() -> None:
    free: dict[int, str | None] = dict.fromkeys(range(4))
    assert plan("a", 4, free, ["a"], taking=False).take == ()
    assert plan("a", 4, free, ["a"]).take == (0, 1, 2, 3)
