"""SQLite journal: what `record` returned for is on disk when the process is SIGKILLed next."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

from gateway.journal.interactions_sqlite import SqliteJournal

CHILD = """
import asyncio, sys, time
from gateway.journal.interactions import JournalEntry
from gateway.journal.interactions_sqlite import SqliteJournal

async def main():
    journal = await SqliteJournal.open(sys.argv[1])
    now = float(sys.argv[2])
    for i in range(50):
        await journal.claim(str(i), now)  # written behind
        if i % 2:
            await journal.record(JournalEntry(str(i), now + i, b"raw%d" % i, "deferred", 5))
    for i in range(0, 50, 10):
        await journal.finish(str(i))  # written behind, but before the last record
    await journal.record(JournalEntry("last", now + 99, b"x", "respond", None))
    print("recorded", flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


async def test_recorded_entries_and_claims_survive_sigkill(tmp_path: Path) -> None:
    now = time.time()
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CHILD, str(tmp_path), str(now), stdout=asyncio.subprocess.PIPE
    )
    assert child.stdout is not None
    assert await asyncio.wait_for(child.stdout.readline(), 30) == b"recorded\n"
    child.send_signal(signal.SIGKILL)
    assert await child.wait() == -signal.SIGKILL

    journal = await SqliteJournal.open(tmp_path)
    try:
        pending = await journal.pending()
        assert [e.interaction_id for e in pending] == [str(i) for i in range(1, 50, 2)] + ["last"]
        assert pending[0].raw == b"raw1" and pending[0].first_response == 5
        assert pending[-1].mode == "respond" and pending[-1].first_response is None
        assert not any([await journal.claim(str(i), now) for i in range(50)])
        assert await journal.claim("50", now)
    finally:
        await journal.aclose()
