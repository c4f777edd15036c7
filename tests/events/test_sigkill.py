"""SIGKILL a real server process every 10 s for 30 s while the simulator dispatches 50
events/s and the main app is slow: nothing lost, one id per event, duplicates only where a
delivery was cut by a kill, order per guild kept (tests/support/campaigns/events/kill.py; the long
form: bench/events_kill.py)."""

from __future__ import annotations

from pathlib import Path

from tests.support.campaigns.events.kill import run, summary


async def test_sigkill_every_10_s_loses_no_event(tmp_path: Path) -> None:
    result = await run(tmp_path, duration=30.0, kill_every=(9.0, 11.0), main_delay=0.03)
    assert len(result.kills) >= 2
    assert result.problems == [], summary(result) + "\n" + result.output[-3000:]
    assert result.total >= 1400
