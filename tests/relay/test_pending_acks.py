"""The forwards' gate (gateway/interactions/job.py `PendingAcks`): forwards start in order, none
while an acknowledgement is due, at most PER_TURN in a turn of the event loop, and none is held
longer than its `max_hold`."""

from __future__ import annotations

import asyncio

from gateway.interactions.job import AckDue, PendingAcks

_TASKS: set[asyncio.Task[None]] = set()


async def _forwards(acks: PendingAcks, count: int, max_hold: float = 3.0) -> list[int]:
    """`count` forwards waiting at the gate; the list is the order they start in."""
    started: list[int] = []

    async def forward(i: int) -> None:
        await acks.wait(max_hold)
        started.append(i)

    for i in range(count):
        task = asyncio.create_task(forward(i))
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)
    return started


async def test_forwards_start_in_order_a_few_per_turn_of_the_loop() -> None:
    acks = PendingAcks()
    count = 3 * PendingAcks.PER_TURN + 2
    started = await _forwards(acks, count)
    seen: list[int] = []
    for _turn in range(5 * count):  # each sleep(0) is one turn of the loop
        await asyncio.sleep(0)
        if not seen or len(started) != seen[-1]:
            seen.append(len(started))
        if len(started) == count:
            break
    assert started == list(range(count))  # in the order they asked
    steps = [after - before for before, after in zip([0, *seen], seen, strict=False)]
    assert max(steps) <= PendingAcks.PER_TURN  # never a herd
    assert len(steps) >= 4  # so: spread over several turns
    assert acks.waiting == 0


async def _held_until_settled(acks: PendingAcks, due: AckDue, started: list[int]) -> None:
    """The three forwards `started` tracks stay held over 50 turns of the loop while `due`
    is open, then start in their order once it is settled."""
    for _ in range(50):
        await asyncio.sleep(0)
    assert started == [] and acks.waiting == 3
    due.settle()
    for _ in range(50):
        await asyncio.sleep(0)
        if len(started) == 3:
            break
    assert started == [0, 1, 2]


async def test_none_starts_while_an_acknowledgement_is_due() -> None:
    acks = PendingAcks()
    due = acks.due(True)
    started = await _forwards(acks, 3)  # they ask while an acknowledgement is due
    await _held_until_settled(acks, due, started)


async def test_an_interaction_received_before_the_next_turn_goes_first() -> None:
    acks = PendingAcks()
    started = await _forwards(acks, 3)
    await asyncio.sleep(0)  # they ask with none due: they would start in the next turn...
    due = acks.due(True)  # ...but an interaction arrives before it
    await _held_until_settled(acks, due, started)


async def test_a_forward_held_for_max_hold_starts_although_acknowledgements_are_due() -> None:
    acks = PendingAcks()
    acks.due(True)  # never settled
    started = await _forwards(acks, 2, max_hold=0.01)
    async with asyncio.timeout(5):
        while len(started) < 2:
            await asyncio.sleep(0.005)
    assert started == [0, 1] and acks.count == 1


async def test_a_cancelled_forward_is_passed_over() -> None:
    acks = PendingAcks()
    due = acks.due(True)
    waiting = asyncio.create_task(acks.wait(3.0))
    started = await _forwards(acks, 2)
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.wait([waiting])
    assert acks.waiting == 2
    due.settle()
    async with asyncio.timeout(5):
        while len(started) < 2:
            await asyncio.sleep(0)
    assert started == [0, 1] and acks.waiting == 0
