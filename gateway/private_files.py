"""STATE_DIR is the process's alone: its directories are 0700 and its files 0600.

It holds live interaction tokens (the SQLite journal and its -wal/-shm files), gateway sessions,
overlay states and the generated forward signing key. Whoever creates something there calls
`private_dir` for its directory (created 0700; an existing one with group or other bits is
tightened, and that is logged, when this process's user owns it) and creates files with
FILE_MODE (`os.open(path, flags, FILE_MODE)`, `tempfile.mkstemp`, which uses 0600), or calls
`private_file` on a file another library created. Modes are only ever narrowed, never widened.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

log = logging.getLogger("gateway.state")

DIR_MODE = 0o700
FILE_MODE = 0o600
_OTHERS = 0o077  # group and other permission bits


def private_dir(path: Path | str) -> Path:
    """`path` as a directory of mode 0700: created so (missing parents as `mkdir -p` makes
    them), or tightened when it exists with group/other permissions and is ours."""
    directory = Path(path)
    directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _tighten(directory, "directory")
    return directory


#: The files SQLite keeps beside a database (they take the database's mode when it makes them).
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def open_private_sqlite(path: Path, schema: str) -> sqlite3.Connection:
    """A SQLite database in STATE_DIR, kept private: its directory 0700, the file created 0600
    before SQLite opens it (its -wal and -shm files take that mode), files an older version
    left wider tightened; WAL, synchronous=NORMAL, autocommit, `schema` applied. The one
    opening of the journal's, the events' and the timers' databases."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE))
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(schema)
    for suffix in ("", *SQLITE_COMPANIONS):
        private_file(f"{path}{suffix}")
    return db


def private_file(path: Path | str) -> None:
    """Tighten an existing file to owner-only (0600 for a 0644 file); nothing when absent."""
    _tighten(Path(path), "file")


def _tighten(path: Path, kind: str) -> None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    mode = stat.S_IMODE(info.st_mode)
    if not mode & _OTHERS:
        return
    if info.st_uid != os.geteuid():
        log.warning(
            "state %s %s has mode %o and belongs to another user: left as it is",
            kind,
            path,
            mode,
        )
        return
    os.chmod(path, mode & ~_OTHERS)
    log.warning("state %s %s had mode %o: set to %o", kind, path, mode, mode & ~_OTHERS)
