"""An unexpected error in a route, on the app as production builds it (production settings,
JSON logs): problem+json with a request id, the security headers, one error line."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import orjson
import pytest

from gateway.simulator import DiscordSimulator
from tests.support.harness.process import ROOT, ServerProcess, clean_env
from tests.support.harness.server import free_port

AUTH_TOKEN = "faults-auth-token-0123456789abcdef-XYZ"


@pytest.fixture
async def sim() -> AsyncIterator[DiscordSimulator]:
    simulator = DiscordSimulator(heartbeat_interval_ms=500)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


async def test_a_route_that_raises_answers_a_problem_and_logs_one_line(
    sim: DiscordSimulator, tmp_path: Path
) -> None:
    port = free_port()
    env = clean_env(
        APP_ENV="production",
        BOT_TOKEN=sim.token,
        AUTH_TOKEN=AUTH_TOKEN,
        ORIGIN_URL="https://app.example.com",
        DISCORD_API_BASE=sim.api_base,
        STATE_DIR=str(tmp_path / "state"),
        LOG_FORMAT="json",
    )
    args = [sys.executable, "-m", "uvicorn", "tests.app.raising_app:app", "--port", str(port)]
    server = ServerProcess(args, env=env, cwd=ROOT).start()
    base = f"http://127.0.0.1:{port}"
    try:
        await server.wait_http(f"{base}/livez")
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            r = await client.get("/boom", headers={"X-Request-Id": "fault-probe-1"})
            after = await client.get("/livez")
    finally:
        await server.terminate()
    output = server.output

    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["x-request-id"] == "fault-probe-1"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    body = r.json()
    assert body["status"] == 500 and body["request_id"] == "fault-probe-1"
    assert "fault-probe-1" in body["detail"]
    assert "10.0.0.9" not in r.text and "StoreUnreachable" not in r.text
    assert after.status_code == 200, "the server keeps serving"

    assert "Attempt to overwrite" not in output and "Traceback" not in output.split("{")[0]
    lines = [orjson.loads(line) for line in output.splitlines() if line.startswith("{")]
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert len(errors) == 1, errors
    (error,) = errors
    assert error["request_id"] == "fault-probe-1"
    assert "StoreUnreachableError" in error["msg"] and "StoreUnreachableError" in error["exc"]
    access = [line for line in lines if line["logger"] == "asgi_app.access"]
    assert [line["msg"] for line in access if line.get("request_id") == "fault-probe-1"] == [
        "GET /boom 500"
    ]
    assert not [line for line in output.splitlines() if line and not line.startswith("{")], (
        "every line is JSON: nothing escaped the formatter"
    )
