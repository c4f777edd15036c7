"""The events' store in STATE_DIR/events.sqlite3 (events.py has what it keeps): the standard
library's sqlite3 in WAL mode.

Each group of changes is one transaction on a worker thread (never on the event loop), one at
a time and in order. `synchronous=NORMAL` in WAL mode: a committed change survives the process
dying (SIGKILL, OOM); a power cut may lose the last commits. The file is created 0600 before
SQLite opens it (its -wal and -shm files take its mode; gateway/private_files.py). Tables:
`events` (pending), `dead` (the dead letters; a file of an earlier version keeps them in
`events`: the events room puts them back as dead letters at load), `marks`, `webhooks`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import orjson

from gateway.journal.events import Change, Contents, Marks, Row, WebhookClaim
from gateway.private_files import open_private_sqlite

FILE_NAME = "events.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS events (id TEXT PRIMARY KEY, n INTEGER NOT NULL, row BLOB NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead (id TEXT PRIMARY KEY, n INTEGER NOT NULL, row BLOB NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS marks (session TEXT PRIMARY KEY, seq INTEGER NOT NULL,
    at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS webhooks (id TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
"""
#: Rows of new pending events per statement, largest first: a transaction's adds go in a few
#: multi-row statements (each row stepped by SQLite itself) rather than one statement a row
#: (`executemany` gives up and takes back the GIL for each), and only these few statements
#: are prepared and cached.
ADD_SIZES = (256, 64, 16, 4, 1)


@cache
def _add_statement(rows: int) -> str:
    """New pending events, `rows` of (id, n, row), unless their id is known (pending, or a
    dead letter)."""
    values = ", ".join(["(?, ?, ?)"] * rows)  # placeholders only: the values are bound
    return (
        "INSERT OR IGNORE INTO events SELECT column1, column2, column3"  # noqa: S608
        f" FROM (VALUES {values}) WHERE column1 NOT IN (SELECT id FROM dead)"
    )


def _chunks(rows: Sequence[tuple[Any, ...]]) -> Iterator[tuple[int, list[Any]]]:
    """`rows` as (count, flat parameters) chunks of the ADD_SIZES, in order."""
    start = 0
    for size in ADD_SIZES:
        while len(rows) - start >= size:
            yield size, [value for row in rows[start : start + size] for value in row]
            start += size


_PUT = {
    True: ("INSERT OR REPLACE INTO dead VALUES (?, ?, ?)", "DELETE FROM events WHERE id = ?"),
    False: ("INSERT OR REPLACE INTO events VALUES (?, ?, ?)", "DELETE FROM dead WHERE id = ?"),
}
T = TypeVar("T")


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

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work` on the thread, in a transaction (rolled back when it raises)."""

        def run() -> T:
            db = self._db
            if db is None:
                raise RuntimeError("the events journal is closed")
            with self._lock:
                db.execute("BEGIN")
                try:
                    result = work(db)
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            return result

        return await asyncio.to_thread(run)

    async def load(self, shards: Sequence[int] | None = None) -> Contents:
        """Everything (the file is this process's alone, whatever shards it runs)."""

        def read(db: sqlite3.Connection) -> Contents:
            pending = db.execute("SELECT id, row FROM events ORDER BY n").fetchall()
            dead = db.execute("SELECT id, row FROM dead ORDER BY n").fetchall()
            webhooks = db.execute("SELECT id, at FROM webhooks").fetchall()
            return Contents(pending, dead, marks=_marks(db), webhooks=dict(webhooks))

        return await self._run(read)

    async def take_shard(self, shard: int) -> Contents:
        """Nothing more than `load` gave (the marks, as they are)."""
        return await self._run(lambda db: Contents(marks=_marks(db)))

    async def claim_webhook(self, webhook_id: str) -> WebhookClaim:
        """The file is this process's alone: the service's own memory dedupes."""
        return WebhookClaim.NEW

    async def apply(self, changes: Sequence[Change[Any]]) -> None:
        # Serialised on the loop (cheap), written on the thread.
        add = [(e.id, e.n, e.to_row()) for c in changes for e in c.add]
        put = [(e.dead, (e.id, e.n, e.to_row())) for c in changes for e in c.put]
        remove = [event_id for c in changes for event_id in c.remove]
        marks: dict[str, tuple[int, float]] = {}
        webhooks: dict[str, float] = {}
        prune: float | None = None
        for change in changes:
            marks.update(change.marks)
            webhooks.update(change.webhooks)
            if change.prune_before is not None:
                prune = change.prune_before

        def write(db: sqlite3.Connection) -> None:
            for size, params in _chunks(add):
                db.execute(_add_statement(size), params)
            for dead, row in put:  # in order: a later put of the same event wins
                into, out = _PUT[dead]
                db.execute(into, row)
                db.execute(out, row[:1])
            if remove:
                ids = orjson.dumps(remove)
                db.execute(
                    "DELETE FROM events WHERE id IN (SELECT value FROM json_each(?))", (ids,)
                )
                db.execute("DELETE FROM dead WHERE id IN (SELECT value FROM json_each(?))", (ids,))
            db.executemany(
                "INSERT OR REPLACE INTO marks VALUES (?, ?, ?)",
                [(k, seq, at) for k, (seq, at) in marks.items()],
            )
            db.executemany("INSERT OR REPLACE INTO webhooks VALUES (?, ?)", webhooks.items())
            if prune is not None:
                db.execute("DELETE FROM marks WHERE at < ?", (prune,))
                db.execute("DELETE FROM webhooks WHERE at < ?", (prune,))

        await self._run(write)

    async def adopt(self, group: str) -> Contents:
        """Nothing: the file is this process's alone (the marks, as they are)."""
        return await self._run(lambda db: Contents(marks=_marks(db)))

    async def dead(self) -> list[Row]:
        def read(db: sqlite3.Connection) -> list[Row]:
            return db.execute("SELECT id, row FROM dead ORDER BY n").fetchall()

        return await self._run(read)

    async def take_dead(self, ids: Sequence[str] | None) -> list[Row]:
        def move(db: sqlite3.Connection) -> list[Row]:
            rows: list[tuple[str, int, bytes]] = []
            if ids is None:
                rows = db.execute("SELECT id, n, row FROM dead").fetchall()
            for event_id in dict.fromkeys(ids or ()):
                found = db.execute("SELECT id, n, row FROM dead WHERE id = ?", (event_id,))
                rows.extend(found.fetchall())
            db.executemany("INSERT OR REPLACE INTO events VALUES (?, ?, ?)", rows)
            db.executemany("DELETE FROM dead WHERE id = ?", [row[:1] for row in rows])
            return [(event_id, row) for event_id, _n, row in rows]

        return await self._run(move)

    async def forget_dead(self, ids: Sequence[str] | None) -> int:
        def delete(db: sqlite3.Connection) -> int:
            if ids is None:
                return db.execute("DELETE FROM dead").rowcount
            return sum(db.execute("DELETE FROM dead WHERE id = ?", (i,)).rowcount for i in set(ids))

        return await self._run(delete)

    async def aclose(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            await asyncio.to_thread(db.close)


def _marks(db: sqlite3.Connection) -> Marks:
    rows = db.execute("SELECT session, seq, at FROM marks").fetchall()
    return {session: (seq, at) for session, seq, at in rows}
