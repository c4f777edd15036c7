"""At start, before the gateway connects: open the journal and forward again what it holds.

Entries younger than REPLAY_MAX_AGE (Discord's 15-minute token) go to the pipeline's
redelivery (forwarded again with `X-Redelivery: 1`, the same X-Interaction-Id, and finished as
usual: the answer delivered or the user told); older ones are dropped with a log line (their
token has expired: nothing can be shown to the user any more).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.journal.interactions import HANDLED_TTL, Journal, JournalEntry, MemoryJournal

log = logging.getLogger("gateway.journal")

REPLAY_MAX_AGE = HANDLED_TTL

#: The pipeline's forward-and-finish step for a journaled interaction (`relay.redeliver`):
#: its task, or None when it will not be forwarded (the pipeline logs and finishes it).
Redeliver = Callable[[JournalEntry], "asyncio.Task[str] | None"]


@dataclass
class Replay:
    redelivered: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    tasks: list[asyncio.Task[str]] = field(default_factory=list)


async def open_journal(
    state_dir: Path | None,
    redis_url: str | None,
    *,
    shard_ids: Sequence[int] | None = None,
    prefix: str | None = None,
    group: str | None = None,
) -> Journal:
    """Redis when REDIS_URL is set, else SQLite in STATE_DIR, else memory only. `shard_ids`
    (SHARD_IDS) names the Redis group of this process's entries in flight, unless `group`
    does (SHARD_IDS=auto: the node)."""
    if redis_url:
        from gateway.journal.interactions_redis import DEFAULT_PREFIX, RedisJournal

        if group is None:
            group = ",".join(str(i) for i in sorted(shard_ids)) if shard_ids else "all"
        journal = await RedisJournal.open(redis_url, prefix or DEFAULT_PREFIX, group=group)
        log.info("interaction journal: redis")
        return journal
    if state_dir is not None:
        from gateway.journal.interactions_sqlite import SqliteJournal

        sqlite_journal = await SqliteJournal.open(state_dir)
        log.info("interaction journal: %s", sqlite_journal.path.name)
        return sqlite_journal
    log.warning("interaction journal in memory only: a crash loses what is in flight")
    return MemoryJournal()


async def replay_pending(
    journal: Journal,
    redeliver: Redeliver,
    *,
    max_age: float = REPLAY_MAX_AGE,
    clocks: Clocks = SYSTEM_CLOCKS,
) -> Replay:
    """Start the redelivery of every entry younger than `max_age` (by `clocks.wall`); drop the
    others."""
    entries = await journal.pending()
    return await replay_entries(journal, entries, redeliver, max_age, clocks=clocks)


async def replay_entries(
    journal: Journal,
    entries: Sequence[JournalEntry],
    redeliver: Redeliver,
    max_age: float = REPLAY_MAX_AGE,
    *,
    clocks: Clocks = SYSTEM_CLOCKS,
) -> Replay:
    """`replay_pending` for given entries (a dead node's, adopted)."""
    replay = Replay()
    for entry in entries:
        age = clocks.wall() - entry.created_at
        if age >= max_age:
            log.warning(
                "interaction %s: journaled %.0f s ago, past Discord's 15 minutes: dropped",
                entry.interaction_id,
                age,
            )
            await journal.drop(entry.interaction_id)
            replay.dropped.append(entry.interaction_id)
            continue
        log.info(
            "interaction %s: unfinished at the last exit (%.1f s old), forwarded again",
            entry.interaction_id,
            age,
        )
        task = redeliver(entry)
        if task is not None:
            replay.tasks.append(task)
        replay.redelivered.append(entry.interaction_id)
    if replay.redelivered or replay.dropped:
        log.warning(
            "interaction journal: %d forwarded again, %d dropped as expired",
            len(replay.redelivered),
            len(replay.dropped),
        )
    return replay
