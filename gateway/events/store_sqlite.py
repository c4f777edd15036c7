"""The events journal in STATE_DIR/events.sqlite3: the standard library's sqlite3 in WAL mode.

Each group of changes is one transaction on a worker thread (never on the event loop), one at
a time and in order. `synchronous=NORMAL` in WAL mode: a committed change survives the process
dying (SIGKILL, OOM); a power cut may lose the last commits. The file is created 0600 before
SQLite opens it (its -wal and -shm files take its mode; gateway/private_files.py).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

from gateway.events.model import Event
from gateway.events.store import Change, Contents
from gateway.private_files import open_private_sqlite

FILE_NAME = "events.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, n INTEGER NOT NULL, row BLOB NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS marks (session TEXT PRIMARY KEY, seq INTEGER NOT NULL,
    at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS webhooks (id TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
"""


class SqliteEventStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @classmethod
    async def open(cls, state_dir: Path) -> SqliteEventStore:
        store = cls(Path(state_dir) / FILE_NAME)
        await asyncio.to_thread(store._connect)
        return store

    def __repr__(self) -> str:
        return f"SqliteEventStore({str(self.path)!r})"

    def _connect(self) -> None:
        self._db = open_private_sqlite(self.path, SCHEMA)

    async def load(self) -> Contents:
        return await asyncio.to_thread(self._load)

    def _load(self) -> Contents:
        assert self._db is not None
        with self._lock:
            rows = self._db.execute("SELECT id, row FROM events ORDER BY n").fetchall()
            marks = self._db.execute("SELECT session, seq, at FROM marks").fetchall()
            webhooks = self._db.execute("SELECT id, at FROM webhooks").fetchall()
        return Contents(
            [Event.from_row(event_id, row) for event_id, row in rows],
            {session: (seq, at) for session, seq, at in marks},
            dict(webhooks),
        )

    async def apply(self, changes: Sequence[Change]) -> None:
        # Serialised on the loop (cheap), written on the thread.
        add = [(e.id, e.n, e.to_row()) for c in changes for e in c.add]
        put = [(e.id, e.n, e.to_row()) for c in changes for e in c.put]
        remove = [(event_id,) for c in changes for event_id in c.remove]
        marks: dict[str, tuple[int, float]] = {}
        webhooks: dict[str, float] = {}
        prune: float | None = None
        for change in changes:
            marks.update(change.marks)
            webhooks.update(change.webhooks)
            if change.prune_before is not None:
                prune = change.prune_before
        await asyncio.to_thread(self._apply, add, put, remove, marks, webhooks, prune)

    def _apply(
        self,
        add: list[tuple[str, int, bytes]],
        put: list[tuple[str, int, bytes]],
        remove: list[tuple[str]],
        marks: dict[str, tuple[int, float]],
        webhooks: dict[str, float],
        prune: float | None,
    ) -> None:
        db = self._db
        if db is None:
            raise RuntimeError("the events journal is closed")
        with self._lock:
            db.execute("BEGIN")
            try:
                db.executemany("INSERT OR IGNORE INTO events VALUES (?, ?, ?)", add)
                db.executemany("INSERT OR REPLACE INTO events VALUES (?, ?, ?)", put)
                db.executemany("DELETE FROM events WHERE id = ?", remove)
                db.executemany(
                    "INSERT OR REPLACE INTO marks VALUES (?, ?, ?)",
                    [(k, seq, at) for k, (seq, at) in marks.items()],
                )
                db.executemany("INSERT OR REPLACE INTO webhooks VALUES (?, ?)", webhooks.items())
                if prune is not None:
                    db.execute("DELETE FROM marks WHERE at < ?", (prune,))
                    db.execute("DELETE FROM webhooks WHERE at < ?", (prune,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    async def aclose(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            await asyncio.to_thread(db.close)
