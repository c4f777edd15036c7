"""The production command, `gunicorn -c gunicorn.conf.py asgi_app:app`, for real: it serves,
SIGTERM ends it cleanly with the gateway session saved, and the next start resumes."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

from gateway.connection.session import FILE_NAME
from gateway.simulator import DiscordSimulator
from tests.support.harness.app import production_env
from tests.support.harness.process import ROOT, VENV_BIN, ServerProcess, clean_env
from tests.support.harness.server import free_port


def _gunicorn(sim: DiscordSimulator, state_dir: Path, port: int) -> ServerProcess:
    env = clean_env(
        **production_env(sim, state_dir, LOG_FORMAT="json"),
        PORT=str(port),
        HOST="127.0.0.1",
        GRACEFUL_TIMEOUT="20",
    )
    args = [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "asgi_app:app"]
    return ServerProcess(args, env=env, cwd=state_dir).start()


async def test_gunicorn_serves_stops_cleanly_and_resumes_after_restart(tmp_path: Path) -> None:
    async with DiscordSimulator(heartbeat_interval_ms=1000) as sim:
        port = free_port()
        first = _gunicorn(sim, tmp_path, port)
        try:
            await first.wait_http(f"http://127.0.0.1:{port}/health")
            assert len(sim.identifies) == 1
        finally:
            code = await first.terminate(signal.SIGTERM)
        assert code == 0, first.output
        # The gateway closed resumably (not 1000) and saved its session.
        await sim.wait_for(lambda: sim.connections[-1].close_code is not None, 5)
        assert sim.connections[-1].close_code != 1000
        saved = json.loads((tmp_path / FILE_NAME).read_text())
        assert saved  # the session (id, seq, resume URL) is on disk
        assert sim.token not in (tmp_path / FILE_NAME).read_text()

        # Every line gunicorn and the app wrote is one JSON object (LOG_FORMAT=json).
        app_lines = [line for line in first.output.splitlines() if line.startswith("{")]
        assert app_lines, first.output
        for line in app_lines:
            assert "level" in json.loads(line)

        second = _gunicorn(sim, tmp_path, port)
        try:
            await second.wait_http(f"http://127.0.0.1:{port}/health")
            # A restart within minutes resumes instead of identifying again.
            assert len(sim.resumes) == 1
            assert len(sim.identifies) == 1
        finally:
            assert await second.terminate(signal.SIGTERM) == 0


async def test_gunicorn_halts_with_status_3_on_bad_settings_instead_of_respawning(
    tmp_path: Path,
) -> None:
    """A worker that cannot load its settings exits 3 (WORKER_BOOT_ERROR): the arbiter stops
    at once with every problem named, instead of starting another worker forever."""
    port = free_port()
    env = clean_env(APP_ENV="production", PORT=str(port), HOST="127.0.0.1")
    args = [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "asgi_app:app"]
    server = ServerProcess(args, env=env, cwd=tmp_path).start()
    assert server.proc is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while server.proc.poll() is None and loop.time() < deadline:
        await asyncio.sleep(0.1)
    output = server.stop()
    assert server.proc.returncode == 3, output
    for name in ("BOT_TOKEN", "AUTH_TOKEN", "ORIGIN_URL"):
        assert name in output, output
    assert output.count("Booting worker") == 1, output
    assert "Worker failed to boot" in output, output
