"""The group commit of the events and timers stores (gateway/journal/group_commit.py): what is
queued together is one transaction, in order; a failure is retried holding the queue (events)
or raised in each writer of the failed transaction (timers); `flush()` is a barrier."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from gateway.journal import group_commit
from gateway.journal.group_commit import GroupCommit
from gateway.journal.timers import StoreUnavailable


class Store:
    """A store's `apply`: records each transaction; `fail` makes the next ones raise."""

    def __init__(self) -> None:
        self.transactions: list[list[str]] = []
        self.fail = 0  # how many applies raise
        self.gate: asyncio.Event | None = None  # an apply waits for it when set

    async def apply(self, changes: Sequence[str]) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            self.fail -= 1
            raise OSError("disk full")
        self.transactions.append(list(changes))


async def test_changes_queued_together_are_one_transaction_in_order() -> None:
    store = Store()
    durable: list[list[str]] = []
    writer = GroupCommit(store.apply, name="test", retry=True, on_durable=durable.append)
    for change in "abc":
        writer.submit(change)
    await writer.write("d")  # queued before the writer ran: in the same transaction
    assert store.transactions == [["a", "b", "c", "d"]]
    assert durable == [["a", "b", "c", "d"]] and writer.writes == 1
    assert writer.backlog == 0
    await asyncio.gather(writer.write("e"), writer.write("f"))
    await writer.flush()
    assert store.transactions[1:] == [["e", "f"]] and durable[1:] == [["e", "f"]]
    await writer.aclose()


async def test_a_failure_is_retried_holding_the_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(group_commit, "RETRY_FIRST", 0.05)
    store = Store()
    store.fail = 2
    writer: GroupCommit[str] = GroupCommit(store.apply, name="test", retry=True)
    writer.submit("a")
    flushed = asyncio.ensure_future(writer.flush())
    await asyncio.sleep(0.01)
    assert writer.failing and not flushed.done() and writer.backlog == 1
    writer.submit("b")  # behind the failed one: never written before it
    await asyncio.wait_for(flushed, 5)
    await writer.flush()
    assert [c for t in store.transactions for c in t] == ["a", "b"]
    assert store.transactions[0][0] == "a" and not writer.failing
    await writer.aclose()


async def test_without_retry_each_writer_of_a_failed_transaction_is_told() -> None:
    store = Store()
    store.gate = asyncio.Event()
    writer: GroupCommit[str] = GroupCommit(
        store.apply, name="timer store", retry=False, error=StoreUnavailable
    )
    first = asyncio.ensure_future(writer.write("a"))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(writer.write("b"))
    third = asyncio.ensure_future(writer.write("c"))
    await asyncio.sleep(0.01)
    store.fail = 1  # the first transaction ("a") fails; "b" and "c" go in the next one
    store.gate.set()
    with pytest.raises(StoreUnavailable):
        await first
    await asyncio.gather(second, third)
    assert store.transactions == [["b", "c"]]
    await writer.aclose()
    with pytest.raises(StoreUnavailable, match="closed"):
        await writer.write("d")


async def test_queued_leaves_out_what_is_being_written() -> None:
    store = Store()
    store.gate = asyncio.Event()
    writer: GroupCommit[list[str]] = GroupCommit(
        lambda changes: store.apply([",".join(c) for c in changes]), name="test", retry=True
    )
    writer.submit(["a"])
    await asyncio.sleep(0.01)  # ["a"] is on its way
    later = ["b", "c"]
    writer.submit(later)
    assert writer.queued() == [["b", "c"]]
    writer.queued()[0].remove("b")  # altered in the queue: written altered
    store.gate.set()
    await writer.flush()
    assert store.transactions == [["a"], ["c"]]
    await writer.aclose()


async def test_close_writes_what_is_queued_then_refuses() -> None:
    store = Store()
    writer: GroupCommit[str] = GroupCommit(
        store.apply, name="events journal", retry=True, min_interval=0.05
    )
    writer.submit("a")
    writer.submit("b")
    await writer.aclose(grace=5)
    assert [c for t in store.transactions for c in t] == ["a", "b"]
    with pytest.raises(RuntimeError, match="the events journal is closed"):
        writer.submit("c")


async def test_a_close_that_cannot_write_gives_up_after_its_grace(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(group_commit, "RETRY_FIRST", 0.01)
    store = Store()
    store.fail = 1_000_000
    writer: GroupCommit[str] = GroupCommit(store.apply, name="test", retry=True)
    writer.submit("a")
    loop = asyncio.get_running_loop()
    started = loop.time()
    await writer.aclose(grace=0.2)
    assert 0.2 <= loop.time() - started < 2 and store.transactions == []


async def test_the_pause_between_transactions_ends_for_a_barrier_and_on_writing_sees_each() -> None:
    store = Store()
    writing: list[list[str]] = []
    writer = GroupCommit(
        store.apply, name="test", retry=True, on_writing=writing.append, min_interval=30.0
    )
    writer.submit("a")
    await asyncio.sleep(0.01)
    assert store.transactions == [["a"]]  # an idle writer writes at once
    writer.submit("b")
    writer.submit("c")
    await asyncio.sleep(0.05)
    assert store.transactions == [["a"]]  # the rest waits for the interval...
    assert writer.queued() == ["b", "c"]  # ...still queued: a change may be altered there
    await asyncio.wait_for(writer.flush(), 1)  # ...unless somebody waits for it
    assert store.transactions == [["a"], ["b", "c"]]
    assert writing == [["a"], ["b", "c"]]  # told as each transaction started
    writer.submit("d")
    await asyncio.wait_for(writer.write("e"), 1)  # a write does not wait either
    assert store.transactions[2:] == [["d", "e"]]
    await writer.aclose()
