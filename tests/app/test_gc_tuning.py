"""The garbage collector is set once per process when the server has started
(asgi_app/gc_tuning.py): what start-up made is frozen, full collections come rarer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import asgi_app.factory
from tests.support.harness.app import running_app

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import gc
from asgi_app.gc_tuning import FULL_EVERY, tune_gc
young, middle, old = gc.get_threshold()
assert gc.get_freeze_count() == 0
assert tune_gc() is True
assert gc.get_freeze_count() > 10_000, gc.get_freeze_count()  # the modules imported so far
assert gc.get_threshold() == (young, middle, FULL_EVERY) and FULL_EVERY > old
frozen = gc.get_freeze_count()
assert tune_gc() is False  # once per process
assert gc.get_freeze_count() == frozen
print("ok")
"""


def test_start_up_objects_are_frozen_and_full_collections_rarer_once_per_process() -> None:
    # in a process of its own: this one's collector stays as it is
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


async def test_the_server_sets_it_when_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def tune_gc() -> bool:
        calls.append("tuned")
        return True

    monkeypatch.setattr(asgi_app.factory, "tune_gc", tune_gc)
    async with running_app(tmp_path, wait_ready=False):
        assert calls == ["tuned"]
