"""Which shards a node takes and gives up (SHARD_IDS=auto): one pure function over a view of
the leases, so every node, reading the same view, reaches the same plan.

- Targets: with N shards over n live nodes, q, r = divmod(N, n); the r nodes holding the most
  (ties by name) aim at q + 1, the others at q. Nobody is ever more than one shard above
  another once every node is at its target.
- Give up: a node above its target gives up the difference (a node joined, or the leases came
  out uneven); each hand-over is announced, so the shard is taken at once.
- Take: every free shard (ascending) is planned for the live node furthest below its target
  (ties by a hash of shard and node, so the free shards spread); a node takes the ones planned
  for it at once. A free shard planned for another node that has stayed free for `grace`
  seconds (that node is stuck, or its view is older) is anyone's below `share`.

`share` = ceil(N / n), the most a node ever takes.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Plan:
    take: tuple[int, ...] = ()
    give: tuple[int, ...] = ()
    share: int = 0
    target: int = 0


def targets(counts: Mapping[str, int], shard_count: int) -> dict[str, int]:
    """Each live node's target: q + 1 for the r that hold the most, q for the rest."""
    if not counts:
        return {}
    q, r = divmod(shard_count, len(counts))
    ranked = sorted(counts, key=lambda node: (-counts[node], node))
    return {node: q + (1 if i < r else 0) for i, node in enumerate(ranked)}


def _tiebreak(shard: int, node: str) -> bytes:
    return hashlib.blake2s(f"{shard}:{node}".encode(), digest_size=8).digest()


def plan(
    me: str,
    shard_count: int,
    holders: Mapping[int, str | None],
    live: Sequence[str],
    *,
    free_for: Mapping[int, float] | None = None,
    grace: float = 5.0,
    taking: bool = True,
) -> Plan:
    """`holders`: shard -> the node whose lease holds it (None: free); `live`: the live nodes
    (this one among them); `free_for`: how long each free shard has been seen free (s)."""
    nodes = sorted(set(live) | {me})
    counts = dict.fromkeys(nodes, 0)
    for node in holders.values():
        if node is not None and node in counts:
            counts[node] += 1
    share = math.ceil(shard_count / len(nodes))
    goal = targets(counts, shard_count)
    mine = sorted(s for s, node in holders.items() if node == me)
    give = tuple(mine[goal[me] :][::-1]) if counts[me] > goal[me] else ()
    if not taking:
        return Plan((), give, share, goal[me])
    planned = dict(counts)
    take: list[int] = []
    waited = free_for or {}
    for shard in sorted(s for s, node in holders.items() if node is None):
        below = [n for n in nodes if planned[n] < goal[n]] or [
            n for n in nodes if planned[n] < share
        ]
        if not below:
            break
        chosen = min(below, key=lambda n: (planned[n] - goal[n], planned[n], _tiebreak(shard, n)))
        if chosen != me and waited.get(shard, 0.0) >= grace and planned[me] < share:
            chosen = me  # planned for a node that has not taken it: anyone's now
        planned[chosen] += 1
        if chosen == me:
            take.append(shard)
    return Plan(tuple(take), give, share, goal[me])
