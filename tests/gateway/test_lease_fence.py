"""A shard held by lease (SHARD_IDS=auto) confirms its lease in Redis before every IDENTIFY and
RESUME. An answer that does not come in time says nothing about the lease: the shard connects
again (its lease still valid locally) instead of stopping for good while its node goes on
renewing a lease for a shard nobody runs. A lease held by another node stops it."""

from __future__ import annotations

from collections.abc import Callable

from gateway.connection import ShardStatus
from gateway.connection.shard import Shard
from gateway.simulator import DiscordSimulator
from tests.support.waiting import eventually


class ScriptedFence:
    """A lease whose Redis answers are scripted: True (held), False (no answer in time) or
    None (held by another node: lost)."""

    def __init__(self, answers: list[bool | None]) -> None:
        self.answers = answers
        self.lost = False
        self.asked = 0

    def valid(self) -> bool:
        return not self.lost

    async def confirm(self) -> bool:
        self.asked += 1
        answer = self.answers.pop(0) if self.answers else True
        if answer is None:
            self.lost = True
        return bool(answer)


async def test_a_confirmation_late_twice_is_asked_again_and_the_shard_identifies(
    sim: DiscordSimulator, make_shard: Callable[..., Shard]
) -> None:
    shard = make_shard(sim)
    fence = ScriptedFence([False, False])
    shard.lease = fence
    shard.start()
    await sim.wait_ready(timeout=10)
    await eventually(lambda: shard.status is ShardStatus.READY, 10)
    assert fence.asked == 3  # two late answers, then held
    assert len(sim.identifies) == 1  # nothing sent before the lease was confirmed


async def test_a_lease_held_by_another_node_stops_the_shard_before_it_sends(
    sim: DiscordSimulator, make_shard: Callable[..., Shard]
) -> None:
    shard = make_shard(sim)
    fence = ScriptedFence([None])
    shard.lease = fence
    shard.start()
    await eventually(lambda: not shard.running, 10)
    assert fence.asked == 1
    assert sim.identifies == [] and sim.resumes == []
    assert shard.status is not ShardStatus.READY
