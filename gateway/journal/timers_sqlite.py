"""Timers in STATE_DIR/timers.sqlite3: the standard library's sqlite3 in WAL mode.

Each group of changes is one transaction, run on a worker thread (never on the event loop),
one at a time and in order. `synchronous=NORMAL` in WAL mode: a committed change survives the
process dying (SIGKILL, OOM); a power cut may lose the last commits. The file is created 0600
before SQLite opens it (its -wal and -shm files take its mode).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from gateway.journal.timers import Change, Contents, GroupCommitted
from gateway.private_files import open_private_sqlite

FILE_NAME = "timers.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS timers (id TEXT PRIMARY KEY, body BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (id TEXT PRIMARY KEY, body BLOB NOT NULL) WITHOUT ROWID;
"""


class SqliteTimerStore(GroupCommitted):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()  # one statement batch at a time on the connection

    @classmethod
    async def open(cls, state_dir: Path) -> SqliteTimerStore:
        store = cls(Path(state_dir) / FILE_NAME)
        await asyncio.to_thread(store._connect)
        return store

    def __repr__(self) -> str:
        return f"SqliteTimerStore({str(self.path)!r})"

    def _connect(self) -> None:
        self._db = open_private_sqlite(self.path, SCHEMA)

    async def load(self) -> Contents:
        return await asyncio.to_thread(self._load)

    def _load(self) -> Contents:
        assert self._db is not None
        with self._lock:
            timers = self._db.execute("SELECT body FROM timers").fetchall()
            outbox = self._db.execute("SELECT body FROM outbox").fetchall()
        return Contents([row[0] for row in timers], [row[0] for row in outbox])

    async def apply(self, changes: Sequence[Change]) -> None:
        # Serialised on the loop (cheap), written on the thread.
        put_timers: dict[str, bytes] = {}
        forget: list[str] = []
        put_out: list[tuple[str, bytes]] = []
        done: list[str] = []
        for change in changes:
            for timer in change.timers:
                put_timers[timer.id] = timer.to_json()
            for timer_id in change.forget:
                put_timers.pop(timer_id, None)
                forget.append(timer_id)
            put_out.extend((d.id, d.to_json()) for d in change.deliveries)
            done.extend(change.done)
        rows = list(put_timers.items())
        await asyncio.to_thread(self._apply, rows, forget, put_out, done)

    def _apply(
        self,
        timers: list[tuple[str, bytes]],
        forget: list[str],
        outbox: list[tuple[str, bytes]],
        done: list[str],
    ) -> None:
        db = self._db
        if db is None:
            raise RuntimeError("the timer store is closed")
        with self._lock:
            db.execute("BEGIN")
            try:
                # Forgotten first: a timer forgotten and created again in one batch is kept.
                db.executemany("DELETE FROM timers WHERE id = ?", [(i,) for i in forget])
                db.executemany("INSERT OR REPLACE INTO timers VALUES (?, ?)", timers)
                db.executemany("INSERT OR REPLACE INTO outbox VALUES (?, ?)", outbox)
                db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in done])
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    async def aclose(self) -> None:
        await self.close_writer()
        db, self._db = self._db, None
        if db is not None:
            await asyncio.to_thread(db.close)
