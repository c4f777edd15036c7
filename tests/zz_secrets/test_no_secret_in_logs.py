"""Runs last (directories are collected in name order): every log line the suite produced, in
process and from server subprocesses, holds no bot token, AUTH_TOKEN or interaction token."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.delivery.signing_key import FILE_NAME as SIGNING_KEY_FILE
from gateway.simulator import factory
from tests.support.harness import logcapture
from tests.support.harness.app import running_app


async def _produce_logs(state_dir: Path) -> None:
    """A failing forward and a reconnect, so that this file alone also has logs to check."""
    async with running_app(state_dir, FORWARD_URL="http://127.0.0.1:9/nowhere") as srv:
        sent = await srv.sim.send_interaction(factory.component("pick:red"))

        def shown() -> bool:
            return any(
                sent["token"] in r.path and r.method == "POST" for r in srv.sim.rest.requests
            )

        await srv.sim.wait_for(shown, 15)
        await srv.sim.drop_connection()
        await srv.http.get("/health/detailed")


def _note_generated_signing_keys(base: Path) -> None:
    """The Ed25519 seeds the apps of this session generated into their STATE_DIRs (every
    test's STATE_DIR lies under the session's base temporary directory)."""
    for path in base.glob(f"**/{SIGNING_KEY_FILE}"):
        logcapture.add_secret(path.read_text(encoding="ascii", errors="replace").strip())


async def test_no_secret_in_any_log_line(
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    capture_logs: logcapture.CaptureHandler,
) -> None:
    await _produce_logs(tmp_path)
    _note_generated_signing_keys(tmp_path_factory.getbasetemp())
    text = logcapture.CAPTURE.read_text(encoding="utf-8")
    assert capture_logs.lines > 10
    assert "forward failed" in text  # the scenario's own lines are in the capture
    assert logcapture.SECRETS, "the suite noted no secrets: the check would be empty"
    leaks = logcapture.leaks(text, logcapture.SECRETS)
    assert not leaks, f"secrets found in log lines: {leaks}"
