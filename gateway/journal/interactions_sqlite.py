"""The interaction journal in STATE_DIR (`interactions.sqlite3`): the standard library's
sqlite3, WAL, on a thread of its own.

Every statement runs on one writer thread, never on the event loop. The thread takes whatever
is queued, runs it in ONE transaction and wakes the loop once per batch (group commit): under
load a commit carries many interactions. `synchronous=NORMAL` in WAL mode: a committed
transaction survives the process dying (SIGKILL, OOM); a power cut may lose the last commits.

Claims answer from an in-memory copy of the handled ids (loaded at open) and are written
behind (with the next `record`, or within BEHIND_DELAY), so the acknowledgement that follows a
claim never waits for the disk nor competes with the writer thread. `record` and `drop` wait
for their commit (a record follows the acknowledgement); `finish` is written behind too (a
finish lost to a crash means one redelivery, which the main app sees as `X-Redelivery: 1`).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.journal.interactions import HANDLED_TTL, MAX_REMEMBERED, JournalEntry
from gateway.journal.seen import SeenIds
from gateway.private_files import open_private_sqlite

log = logging.getLogger("gateway.journal")

FILE_NAME = "interactions.sqlite3"
#: What SQLite keeps beside the database (WAL mode; a rollback journal if it ever falls back):
#: it creates them with the database file's mode, so that file is created 0600 first.
#: Most statements one transaction carries.
MAX_BATCH = 1024
#: At most this long (s) between a claim or finish and its write (sooner with a `record`).
BEHIND_DELAY = 0.05
#: How often (in batches) expired handled ids are deleted from the file.
PRUNE_EVERY = 500

SCHEMA = """
CREATE TABLE IF NOT EXISTS handled (
    id TEXT PRIMARY KEY, expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS pending (
    id TEXT PRIMARY KEY, created_at REAL NOT NULL, mode TEXT NOT NULL,
    first_response INTEGER, raw BLOB NOT NULL
) WITHOUT ROWID;
"""

Op = Callable[[sqlite3.Connection], Any]
_Job = tuple[Op, "asyncio.Future[Any] | None"]
_Outcome = tuple["asyncio.Future[Any] | None", Any, BaseException | None]


class SqliteJournal:
    def __init__(
        self,
        path: Path,
        *,
        clocks: Clocks = SYSTEM_CLOCKS,
        limit: int = MAX_REMEMBERED,
    ) -> None:
        self.path = Path(path)
        self._clock = clocks.wall
        self._seen = SeenIds(HANDLED_TTL, limit)
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._behind: list[Op] = []
        self._behind_timer: asyncio.TimerHandle | None = None

    @classmethod
    async def open(cls, state_dir: Path, **options: Any) -> SqliteJournal:
        journal = cls(Path(state_dir) / FILE_NAME, **options)
        await journal.start()
        return journal

    def __repr__(self) -> str:
        return f"SqliteJournal({str(self.path)!r})"

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        ready: asyncio.Future[Any] = self._loop.create_future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="journal-sqlite", daemon=True
        )
        self._thread.start()
        await ready
        now = self._clock()
        rows = await self._submit(
            lambda db: db.execute(
                "SELECT id, expires_at FROM handled WHERE expires_at > ? ORDER BY expires_at",
                (now,),
            ).fetchall()
        )
        for interaction_id, expires_at in rows:
            self._seen.add(interaction_id, expires_at - HANDLED_TTL, now)

    # -- the Journal interface --------------------------------------------------------------

    async def claim(self, interaction_id: str, created_at: float) -> bool:
        if not self._seen.add(interaction_id, created_at, self._clock()):
            return False
        expires = created_at + HANDLED_TTL
        self._post(
            lambda db: db.execute(
                "INSERT OR REPLACE INTO handled VALUES (?, ?)", (interaction_id, expires)
            )
        )
        return True

    async def record(self, entry: JournalEntry) -> None:
        row = (entry.interaction_id, entry.created_at, entry.mode, entry.first_response, entry.raw)
        await self._submit(
            lambda db: db.execute("INSERT OR REPLACE INTO pending VALUES (?,?,?,?,?)", row)
        )

    async def finish(self, interaction_id: str) -> None:
        self._post(lambda db: db.execute("DELETE FROM pending WHERE id = ?", (interaction_id,)))

    async def drop(self, interaction_id: str) -> None:
        await self._submit(
            lambda db: db.execute("DELETE FROM pending WHERE id = ?", (interaction_id,))
        )

    async def pending(self) -> list[JournalEntry]:
        rows = await self._submit(
            lambda db: db.execute(
                "SELECT id, created_at, raw, mode, first_response FROM pending ORDER BY created_at"
            ).fetchall()
        )
        return [JournalEntry(r[0], r[1], bytes(r[2]), r[3], r[4]) for r in rows]

    async def adopt(self, group: str) -> list[JournalEntry]:
        """Nothing: the file is this process's alone."""
        return []

    async def flush(self) -> None:
        """Wait until everything queued so far is committed."""
        await self._submit(lambda db: None)

    async def aclose(self) -> None:
        if self._closed or self._thread is None:
            return
        self._send_behind()
        self._closed = True
        self._jobs.put(None)
        await asyncio.to_thread(self._thread.join)

    # -- the writer thread ------------------------------------------------------------------

    def _post(self, op: Op) -> None:
        """Queue a write nobody waits for: it leaves with the next awaited one, or after
        BEHIND_DELAY, so a claim never wakes the writer thread (which would compete with the
        event loop for the GIL) while the acknowledgement is on its way."""
        if self._closed or self._loop is None:
            raise RuntimeError("the journal is not open")
        self._behind.append(op)
        if self._behind_timer is None:
            self._behind_timer = self._loop.call_later(BEHIND_DELAY, self._send_behind)

    def _send_behind(self) -> None:
        if self._behind_timer is not None:
            self._behind_timer.cancel()
            self._behind_timer = None
        for op in self._behind:
            self._jobs.put((op, None))
        self._behind.clear()

    def _submit(self, op: Op) -> asyncio.Future[Any]:
        if self._closed or self._loop is None:
            raise RuntimeError("the journal is not open")
        self._send_behind()  # in order: what was posted before goes first
        future: asyncio.Future[Any] = self._loop.create_future()
        self._jobs.put((op, future))
        return future

    def _connect(self) -> sqlite3.Connection:
        return open_private_sqlite(self.path, SCHEMA)

    def _run(self, ready: asyncio.Future[Any]) -> None:
        assert self._loop is not None
        opened: list[_Outcome] = [(ready, None, None)]
        try:
            db = self._connect()
        except Exception as exc:
            failed: list[_Outcome] = [(ready, None, exc)]
            self._loop.call_soon_threadsafe(_settle, failed)
            return
        self._loop.call_soon_threadsafe(_settle, opened)
        batches = 0
        try:
            while True:
                first = self._jobs.get()
                if first is None:
                    return
                batch = [first]
                stop = False
                while len(batch) < MAX_BATCH:
                    try:
                        job = self._jobs.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stop = True
                        break
                    batch.append(job)
                batches += 1
                if batches % PRUNE_EVERY == 0:
                    batch.append((self._prune_op(self._clock()), None))
                self._run_batch(db, batch)
                if stop:
                    return
        finally:
            db.close()

    @staticmethod
    def _prune_op(now: float) -> Op:
        return lambda db: db.execute("DELETE FROM handled WHERE expires_at <= ?", (now,))

    def _run_batch(self, db: sqlite3.Connection, batch: list[_Job]) -> None:
        assert self._loop is not None
        outcomes: list[_Outcome] = []
        try:
            db.execute("BEGIN")
            for op, future in batch:
                outcomes.append((future, op(db), None))
            db.execute("COMMIT")
        except Exception:
            if db.in_transaction:
                db.execute("ROLLBACK")
            # One statement failed: run each alone, so only its own caller sees the error.
            outcomes = [self._run_one(db, op, future) for op, future in batch]
        settled = [o for o in outcomes if o[0] is not None]
        if settled:
            self._loop.call_soon_threadsafe(_settle, settled)

    def _run_one(
        self, db: sqlite3.Connection, op: Op, future: asyncio.Future[Any] | None
    ) -> _Outcome:
        try:
            return future, op(db), None
        except Exception as exc:
            if future is None:
                log.error("journal write failed: %s", type(exc).__name__)
            return future, None, exc


def _settle(outcomes: list[_Outcome]) -> None:
    for future, result, exc in outcomes:
        if future is None or future.done():
            continue
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
