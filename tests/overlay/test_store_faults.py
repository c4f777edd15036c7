"""The overlay store failing under the app as production builds it (create_app): a real
redis-server stopped and started again, and a STATE_DIR that cannot be written. POST answers
503 problem+json with Retry-After, GET the last known state, /health is degraded; both recover
without a restart."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.overlay.helpers import overlay_data
from tests.support.harness.app import running_app
from tests.support.harness.redis_server import RedisProcess
from tests.support.tools import require_tool


@pytest.fixture
async def redis() -> AsyncIterator[RedisProcess]:
    server = await RedisProcess(require_tool("redis-server")).start()
    try:
        yield server
    finally:
        server.stop()


def _assert_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert int(answer.headers["retry-after"]) > 0
    body = answer.json()
    assert body["status"] == 503 and body["detail"]
    assert answer.headers["x-content-type-options"] == "nosniff"


async def _overlay_health(http: httpx.AsyncClient) -> dict[str, object]:
    health = await http.get("/health")
    assert health.status_code == 200, health.text  # the gateway is fine: degraded, not down
    body = health.json()
    assert body["status"] == ("ok" if body["services"]["overlay"]["ok"] else "degraded")
    overlay: dict[str, object] = body["services"]["overlay"]
    return overlay


async def test_redis_down_answers_503_serves_last_state_and_recovers(
    tmp_path: Path, redis: RedisProcess
) -> None:
    async with running_app(tmp_path, REDIS_URL=redis.url) as server:
        http = server.http
        first = overlay_data(blue=1)
        assert (await http.post("/overlay", json=first)).status_code == 200
        assert (await _overlay_health(http))["ok"] is True

        redis.stop()
        _assert_unavailable(await http.post("/overlay", json=overlay_data(blue=2)))
        got = await http.get("/overlay")
        assert got.status_code == 200 and got.json() == first  # the last known state
        overlay = await _overlay_health(http)
        assert overlay["ok"] is False and "redis" in str(overlay["error"])

        await redis.start()  # same port, empty: nothing was persisted
        overlay = await _overlay_health(http)
        assert overlay["ok"] is True, overlay
        after = overlay_data(blue=2, red=1)
        assert (await http.post("/overlay", json=after)).status_code == 200
        assert (await http.get("/overlay")).json() == after


async def test_state_dir_unwritable_answers_503_and_health_degraded_until_fixed(
    tmp_path: Path,
) -> None:
    async with running_app(tmp_path) as server:
        http = server.http
        first = overlay_data(red=1)
        assert (await http.post("/overlay", json=first)).status_code == 200

        # Unwritable even for root (the tests may run as root, which ignores modes): the
        # overlay directory replaced by a file.
        overlays = tmp_path / "overlays"
        shutil.rmtree(overlays)
        overlays.write_text("not a directory")
        _assert_unavailable(await http.post("/overlay", json=overlay_data(red=2)))
        assert (await http.get("/overlay")).json() == first  # the refused state is not shown
        overlay = await _overlay_health(http)
        assert overlay["ok"] is False and "STATE_DIR" in str(overlay["error"])

        overlays.unlink()
        overlays.mkdir()
        assert (await _overlay_health(http))["ok"] is True
        after = overlay_data(red=2)
        assert (await http.post("/overlay", json=after)).status_code == 200
        assert (await http.get("/overlay")).json() == after
        assert (overlays / "default.json").is_file()
