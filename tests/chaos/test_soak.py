"""The chaos soak, 60 s of it (bench/chaos.py runs the 30-minute version).

Faults every 1-5 s from the simulator, interactions at 10/s, numbered dispatches at 5/s,
overlay updates at 5/s to 50 clients, the main app failing 10% of the time. Every figure is
read from the simulator's records and the harness's own, after the run has settled.
"""

from __future__ import annotations

from pathlib import Path

from bench.campaigns.chaos.soak import SoakConfig, run_soak


async def test_chaos_soak_60s(tmp_path: Path) -> None:
    report = await run_soak(SoakConfig(duration=60.0, seed=7), tmp_path)
    print(report.to_markdown())
    assert report.violations() == []
    # The chaos happened, and the server still did its work through it.
    assert report.faults.total >= 10
    assert report.connections >= 5
    assert report.interactions.delivered_connected >= 50
    assert report.interactions.forward_failed >= 1  # the error path was exercised
    assert report.interactions.acked_in_time == report.interactions.delivered_connected
    assert report.interactions.worst_ack <= 3.0
    assert report.sequence.must_handle >= 200
    assert report.overlay_clients == 50
    assert report.overlay_posts_ok >= 150
    # Nothing piles up: tasks back to where they were, server-held memory small.
    grown = report.task_kinds_end - report.task_kinds_start
    assert report.harness_tasks_end <= report.harness_tasks_start + 5, grown
    # The simulator serves each keep-alive connection of the server's REST pool (at most 50).
    assert report.tasks_end <= report.tasks_start + 55, grown
    assert report.traced_server_growth is not None
    assert report.traced_server_growth < 8 * 1024 * 1024, report.traced_top
