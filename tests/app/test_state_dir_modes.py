"""STATE_DIR is 0700 and its files 0600 (CONTRACT.md, v3 "Credentials and limits"): the app as
production assembles it, on a fresh STATE_DIR under a umask that would leave everything open,
and on one an older version left world-readable; and the rule for a directory not ours."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gateway.private_files import private_dir, private_file
from gateway.simulator import factory
from tests.overlay.helpers import overlay_data
from tests.support.harness.app import discord_of, running_app

JOURNAL = "interactions.sqlite3"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def assert_private(state: Path) -> list[str]:
    """Every directory under `state` (itself included) 0700, every file 0600; their names."""
    assert mode(state) == 0o700, oct(mode(state))
    seen = []
    for path in sorted(state.rglob("*")):
        want = 0o700 if path.is_dir() else 0o600
        assert mode(path) == want, (path, oct(mode(path)))
        seen.append(str(path.relative_to(state)))
    return seen


async def _use_every_file(state: Path) -> list[str]:
    """Start the app on `state`, write an overlay and journal an interaction; the files while
    it runs (the journal's -wal/-shm exist only then)."""
    async with running_app(state) as srv:
        assert (await srv.http.post("/overlay", json=overlay_data(blue=1))).status_code == 200
        await srv.sim.send_interaction(factory.command("draft"))
        relay = discord_of(srv.app).relay
        assert relay is not None and srv.app.services.running.journal is not None
        await srv.sim.wait_for(lambda: sum(relay.stats.forwards.values()), 15)
        return assert_private(state)


async def test_a_fresh_state_dir_is_private_even_under_an_open_umask(tmp_path: Path) -> None:
    state = tmp_path / "deep" / "state"
    with umask(0):  # without explicit modes: directories 0777, files 0666
        running = await _use_every_file(state)
        for name in (
            "forward-signing-key",
            "overlays",
            "overlays/default.json",
            JOURNAL,
            f"{JOURNAL}-wal",
            f"{JOURNAL}-shm",
        ):
            assert name in running, running
        after = assert_private(state)
    assert "gateway-session.json" in after  # saved at shutdown, for the resume


async def test_an_open_state_dir_left_by_an_older_version_is_tightened_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    with umask(0o022):
        state.mkdir(mode=0o755)
        (state / "overlays").mkdir(mode=0o755)
        db = sqlite3.connect(state / JOURNAL)  # as the older version made it: 0644
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (x)")
        db.close()
        os.chmod(state, 0o755)
        os.chmod(state / JOURNAL, 0o644)
        caplog.set_level(logging.WARNING, logger="gateway.state")
        running = await _use_every_file(state)
    assert JOURNAL in running and "overlays" in running
    messages = [r.getMessage() for r in caplog.records if r.name == "gateway.state"]
    assert f"state directory {state} had mode 755: set to 700" in messages, messages
    assert f"state directory {state / 'overlays'} had mode 755: set to 700" in messages
    assert f"state file {state / JOURNAL} had mode 644: set to 600" in messages


def test_a_directory_of_another_user_is_left_as_it_is_and_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o775)
    other_user = os.stat(shared).st_uid + 1
    monkeypatch.setattr(os, "geteuid", lambda: other_user)
    caplog.set_level(logging.WARNING, logger="gateway.state")
    private_dir(shared)
    assert mode(shared) == 0o775
    assert any("belongs to another user" in r.getMessage() for r in caplog.records)


def test_modes_are_only_narrowed(tmp_path: Path) -> None:
    owner_only_read = tmp_path / "key"
    owner_only_read.write_bytes(b"k")
    os.chmod(owner_only_read, 0o444)
    private_file(owner_only_read)
    assert mode(owner_only_read) == 0o400  # group/other removed, nothing added
    private_file(tmp_path / "absent")  # nothing to do, no error
    ours = private_dir(tmp_path / "a" / "b")
    assert mode(ours) == 0o700 and ours == tmp_path / "a" / "b"
