"""Session persistence: atomic write, load once, stale or foreign sessions ignored (line 13)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.clock import Clocks
from gateway.connection.session import FILE_NAME, SessionState, SessionStore


def _state(shard: int = 0, count: int = 1) -> SessionState:
    return SessionState(shard, count, f"sess-{shard}", 41, "wss://resume.example")


def test_save_then_load_round_trip_and_consumed(tmp_path: Path) -> None:
    now = [1000.0]
    store = SessionStore(tmp_path, clocks=Clocks(wall=lambda: now[0]))
    store.save([_state(0, 2), _state(1, 2)])
    assert (tmp_path / FILE_NAME).exists()
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]  # no temp file left behind
    now[0] += 30
    loaded = store.load(2)
    assert set(loaded) == {0, 1}
    assert loaded[1].session_id == "sess-1" and loaded[1].seq == 41
    assert loaded[1].saved_at == 1000.0
    assert not (tmp_path / FILE_NAME).exists()  # consumed: a crash later never reuses it
    assert store.load(2) == {}


def test_stale_and_other_shard_count_ignored(tmp_path: Path) -> None:
    now = [0.0]
    store = SessionStore(tmp_path, max_age=180, clocks=Clocks(wall=lambda: now[0]))
    store.save([_state()])
    now[0] = 181.0
    assert store.load(1) == {}
    store.save([_state()])
    assert store.load(2) == {}


def test_malformed_file_ignored(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_bytes(b"{not json")
    assert SessionStore(tmp_path).load(1) == {}
    (tmp_path / FILE_NAME).write_bytes(b'{"version": 1, "sessions": [{"x": 1}]}')
    assert SessionStore(tmp_path).load(1) == {}


def test_write_is_atomic_old_file_survives_failed_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SessionStore(tmp_path, clocks=Clocks(wall=lambda: 5.0))
    store.save([_state()])
    before = (tmp_path / FILE_NAME).read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.save([_state(0), _state(0)])
    assert (tmp_path / FILE_NAME).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]


def test_creates_state_dir(tmp_path: Path) -> None:
    store = SessionStore(tmp_path / "a" / "b", clocks=Clocks(wall=lambda: 1.0))
    store.save([_state()])
    assert store.load(1)[0].resume_url == "wss://resume.example"
