"""`python -m asgi_app.devtools fire` as a subprocess: the server on PORT (what `make run` serves
on) unless --url says otherwise; one line, no traceback, when nothing answers or the server
is not a development one."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from asgi_app.devtools.__main__ import default_url
from tests.support.harness.process import VENV_BIN, clean_env
from tests.support.harness.server import free_port, serve


async def fire(cwd: Path, *args: str, **env: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        str(VENV_BIN / "python"), "-m", "asgi_app.devtools", "fire", "command", *args,
        cwd=cwd, env=clean_env(**env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def test_the_default_url_follows_port() -> None:
    assert default_url({}) == "http://127.0.0.1:8000"
    assert default_url({"PORT": " "}) == "http://127.0.0.1:8000"
    assert default_url({"PORT": "9031"}) == "http://127.0.0.1:9031"


async def test_nothing_answering_on_port_is_one_line(tmp_path: Path) -> None:
    port = free_port()
    code, out, err = await fire(tmp_path, PORT=str(port))
    assert code == 1 and out == ""
    assert err.startswith(f"no development server answers at http://127.0.0.1:{port} ")
    assert "make run" in err and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    code, _out, err = await fire(tmp_path, "--url", f"http://127.0.0.1:{port}", PORT="1")
    assert code == 1 and f"127.0.0.1:{port}" in err  # --url wins over PORT


async def _not_found(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 404, "headers": []})
    await send({"type": "http.response.body", "body": b"not found"})


async def test_a_server_without_the_dev_routes_is_named_in_one_line(tmp_path: Path) -> None:
    port = free_port()
    async with serve(_not_found, port=port):
        code, out, err = await fire(tmp_path, PORT=str(port))
    assert code == 1 and out == ""
    assert "answered 404" in err and "not in development mode" in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
