"""On the whole app: /socket.io (long-polling) passes the global middleware too."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.support.harness.app import running_app


async def test_socketio_polling_gets_request_id_headers_and_access_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="asgi_app.access")
    async with running_app(tmp_path, wait_ready=False) as running:
        r = await running.http.get(
            "/socket.io/",
            params={"EIO": "4", "transport": "polling"},
            headers={"X-Request-Id": "sio-1"},
        )
    assert r.status_code == 200 and r.text.startswith("0{")  # an Engine.IO open packet
    assert r.headers["x-request-id"] == "sio-1"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["content-length"] == str(len(r.content))  # one body message: sized
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "asgi_app.access"]
    assert "GET /socket.io/ 200" in lines
