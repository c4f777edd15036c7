"""`make run` on a fresh copy with an empty environment: it serves in development mode with the
embedded simulator, and the documented CLI fires a slash command that is deferred, forwarded
to the stand-in main app and answered."""

from __future__ import annotations

import shutil
import signal
import subprocess
from pathlib import Path

from bench.harness.process import ROOT, VENV_BIN, ServerProcess, clean_env
from bench.harness.server import free_port
from tests.support.tools import require_tool

CLI = (str(VENV_BIN / "python"), "-m", "asgi_app.devtools")


def _fresh_copy(dest: Path) -> Path:
    """The working tree's files (tracked and new, not ignored), with the installed .venv and
    node_modules linked in: a fresh clone after its first `make`."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    (dest / "node_modules").symlink_to(ROOT / "node_modules")
    return dest


async def test_make_run_serves_and_a_fired_command_is_deferred_and_forwarded(
    tmp_path: Path,
) -> None:
    make = require_tool("make")
    copy = _fresh_copy(tmp_path / "clone")
    port = free_port()
    env = clean_env(PORT=str(port))
    env.pop("PYTHONPATH")  # the copy's own files, as on a fresh clone
    # -o: the linked .venv is already installed; do not reinstall it from the copy.
    server = ServerProcess([make, "-o", ".venv/.installed", "run"], env=env, cwd=copy).start()
    base = f"http://127.0.0.1:{port}"
    try:
        await server.wait_http(base + "/health")
        fired = subprocess.run(
            [*CLI, "fire", "command", "--url", base],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert fired.returncode == 0, fired.stdout + fired.stderr
        assert "acknowledged: deferred (type 5)" in fired.stdout
        assert "forwarded: /command answered 200" in fired.stdout
        assert "response edited by the main app" in fired.stdout

        failing = subprocess.run(
            [*CLI, "fire", "component", "--mode", "fail", "--url", base],
            cwd=copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert "ephemeral follow-up: error shown to the user" in failing.stdout, failing.stdout
    finally:
        code = await server.terminate(signal.SIGTERM, group=True)
    assert "development default AUTH_TOKEN=" in server.output
    assert code in (0, -signal.SIGTERM, 2), server.output
