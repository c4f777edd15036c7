"""The access line carries `method`, `path` and `status` as fields of their own (the message
keeps its "METHOD PATH STATUS" text); a token in the path is masked in the field as in the
message, on the direct path (the server's JSON handler alone) and on the record path (any
other handler, e.g. a capture, sees the record's fields)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from asgi_app.factory import create_app
from asgi_app.settings import load_settings
from tests.support.harness.logcapture import note_settings
from tests.support.harness.process import ROOT, clean_env

TOKEN = "aW50ZXJhY3Rpb246" + "x" * 40  # an interaction token's shape
PATH = f"/interactions/55/{TOKEN}/callback"

PROGRAM = f"""
import asyncio
from asgi_app.factory import build_from_environment

async def main():
    app = build_from_environment(env_file=None)
    for method, path in (("GET", "/"), ("POST", {PATH!r}), ("DELETE", "/nowhere")):
        scope = {{"type": "http", "method": method, "path": path, "raw_path": path.encode(),
                 "query_string": b"", "headers": [(b"host", b"127.0.0.1")],
                 "client": ("10.0.0.7", 5555), "server": ("127.0.0.1", 8000),
                 "scheme": "http", "http_version": "1.1", "root_path": ""}}
        async def receive():
            return {{"type": "http.request", "body": b"", "more_body": False}}
        async def send(message):
            pass
        await app(scope, receive, send)

asyncio.run(main())
"""


def test_the_json_line_has_method_path_and_status_fields(tmp_path: Path) -> None:
    env = clean_env(
        APP_ENV="development",
        LOG_FORMAT="json",
        AUTH_TOKEN="access-fields-auth-token-0123456789abc",
        STATE_DIR=str(tmp_path),
    )
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    access = [line for line in lines if line["logger"] == "asgi_app.access"]
    assert [(a["method"], a["status"]) for a in access] == [("GET", 200), ("POST", 404),
                                                           ("DELETE", 404)], access  # fmt: skip
    first, masked, _missing = access
    assert first["path"] == "/" and first["msg"] == "GET / 200"
    assert masked["path"] == "/interactions/55/[token]/callback"
    assert masked["msg"] == "POST /interactions/55/[token]/callback 404"
    assert TOKEN not in done.stderr
    assert list(first)[:5] == ["ts", "level", "logger", "msg", "request_id"]


async def test_a_captured_record_has_the_fields_with_the_path_masked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="asgi_app.access")
    env = {"APP_ENV": "development", "STATE_DIR": str(tmp_path)}
    app = create_app(note_settings(load_settings(env, env_file=None)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        assert (await client.get("/livez")).status_code == 200
        await client.post(PATH)
    records = [r for r in caplog.records if r.name == "asgi_app.access"]
    assert len(records) == 2
    livez, masked = records
    assert (livez.method, livez.path, livez.status) == ("GET", "/livez", 200)  # type: ignore[attr-defined]
    assert livez.getMessage() == "GET /livez 200"
    # The field and the message are masked where the record is made, without the record
    # factory that configure_logging installs (this test does not install it).
    assert masked.path == "/interactions/55/[token]/callback"  # type: ignore[attr-defined]
    assert masked.getMessage() == "POST /interactions/55/[token]/callback 404"
    assert masked.status == 404  # type: ignore[attr-defined]
