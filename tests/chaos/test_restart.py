"""Restart safety (issue 7 item 6): SIGTERM to gunicorn during a burst, then a restart."""

from __future__ import annotations

from pathlib import Path

from tests.chaos.restart import SlowMainApp, restart_during_burst


async def test_sigterm_during_burst_loses_nothing_acknowledged_and_resumes(
    tmp_path: Path,
) -> None:
    app = SlowMainApp(delay=0.2, error_rate=0.1, seed=3)
    result = await restart_during_burst(tmp_path, app)
    assert result.exit_code == 0, result.output
    assert result.close_code not in (None, 1000)  # closed resumably
    # The second process resumed the saved session; it did not identify.
    assert result.identifies_after == result.identifies_before == 1
    assert result.resumes_after == result.resumes_before + 1
    # Overlays: every POST that got 200 is kept, the last one per overlay wins, and a client
    # that connects after the restart gets it.
    assert result.posts_ok >= 10
    assert result.overlay_expected
    assert result.overlay_after_get == result.overlay_expected
    assert result.overlay_after_client == result.overlay_expected
    # Interactions: each acknowledged one reached the main app or told the user; none twice.
    assert result.acked >= 20
    assert result.silent == []
    assert result.forwarded_twice == []
    assert result.error_shown >= 1


async def test_sigterm_while_main_app_is_slow_tells_every_acknowledged_user(
    tmp_path: Path,
) -> None:
    # An overloaded main app: a third of the attempts answer 503 after 2.5 s, so at SIGTERM
    # some interactions are between retries (3 attempts ~ 10 s > the 5 s drain grace).
    app = SlowMainApp(delay=0.2, error_rate=0.0, slow_503_rate=0.35, slow_503_delay=2.5, seed=5)
    result = await restart_during_burst(tmp_path, app, rate=20.0, burst_before=3.0)
    assert result.exit_code == 0, result.output
    assert result.acked >= 20
    assert result.silent == [], f"{len(result.silent)} acknowledged interactions left silent"
