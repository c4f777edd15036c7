"""`make run` where there is no npm: it serves all the same (development mode, the embedded
simulator), says how to get the OBS page's socket.io client, and the page's script answers 503
with the same hint; `python -m asgi_app.devtools fire` finds it on PORT without --url."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx

from tests.ops.test_make_run import _fresh_copy
from tests.support.harness.process import VENV_BIN, ServerProcess, clean_env
from tests.support.harness.server import free_port
from tests.support.tools import require_tool


async def test_make_run_without_npm_serves_and_says_how_to_get_the_client(
    tmp_path: Path,
) -> None:
    make = require_tool("make")
    copy = _fresh_copy(tmp_path / "clone")
    assert not (copy / "asgi_app/overlay/static/socket.io.min.js").exists()
    empty = tmp_path / "bin"  # a PATH with no npm (nor node) on it: make runs by its path
    empty.mkdir()
    port = free_port()
    env = clean_env(PORT=str(port), PATH=str(empty))
    env.pop("PYTHONPATH")  # the copy's own files, as on a fresh clone
    server = ServerProcess([make, "-o", ".venv/.installed", "run"], env=env, cwd=copy).start()
    base = f"http://127.0.0.1:{port}"
    try:
        await server.wait_http(base + "/health", timeout=60)
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            script = await http.get("/overlay/static/socket.io.min.js")
            assert script.status_code == 503 and "make node" in script.text, script.text
            assert (await http.get("/overlay/view/default")).status_code == 200
        # The CLI finds the server on PORT (no --url) and fires through it.
        proc = await asyncio.create_subprocess_exec(
            str(VENV_BIN / "python"), "-m", "asgi_app.devtools", "fire", "command",
            cwd=copy, env=clean_env(PORT=str(port)),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, out.decode() + err.decode()
        assert "forwarded: /command answered 200" in out.decode()
    finally:
        code = await server.terminate(signal.SIGTERM, group=True)
    output = server.output
    assert "npm not found" in output and "make node" in output, output
    assert "npm ci" not in output and "node_modules" not in os.listdir(copy)
    assert "development default AUTH_TOKEN=" in output
    assert code in (0, -signal.SIGTERM, 2), output
