"""Two uvicorn processes sharing one real redis-server: a POST to node A reaches node B."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from asgi_app.overlay.state import DEFAULT_STATE
from tests.overlay.app_factory import TOKEN
from tests.overlay.helpers import AUTH, connected, overlay_data
from tests.support.harness.process import running
from tests.support.harness.redis_server import redis_server
from tests.support.harness.server import free_port
from tests.support.tools import require_tool

ROOT = Path(__file__).resolve().parents[2]
CHANNEL = "overlay-socketio"


async def _until(check: object, what: str, timeout: float = 20) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            if await check():  # type: ignore[operator]
                return
        except (OSError, httpx.HTTPError, aioredis.ConnectionError):
            pass
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


@asynccontextmanager
async def node(state_dir: Path, redis_url: str) -> AsyncIterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "OVERLAY_TEST_STATE_DIR": str(state_dir),
        "OVERLAY_TEST_REDIS_URL": redis_url,
    }
    args = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "tests.overlay.app_factory:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    url = f"http://127.0.0.1:{port}"
    with running(args, env):
        async with httpx.AsyncClient(base_url=url) as http:

            async def up() -> bool:
                return (await http.get("/overlay/static/overlay.css")).status_code == 200

            await _until(up, "uvicorn node")
        yield url


async def test_post_to_node_a_reaches_client_of_node_b(tmp_path: Path) -> None:
    async with (
        redis_server(require_tool("redis-server")) as redis_url,
        node(tmp_path / "a", redis_url) as node_a,
        node(tmp_path / "b", redis_url) as node_b,
        httpx.AsyncClient(timeout=10) as http,
    ):
        redis = aioredis.Redis.from_url(redis_url)
        try:
            async with connected(node_b, auth={"token": TOKEN, "overlay": "shared"}) as client:
                assert await client.next_state() == DEFAULT_STATE

                async def b_subscribed() -> bool:
                    counts = await redis.pubsub_numsub(CHANNEL)
                    return bool(counts and counts[0][1] >= 1)

                await _until(b_subscribed, "node B's subscription")
                state = overlay_data(blue=1, red=2, max_score=3, source="node A")
                answer = await http.post(f"{node_a}/overlay/shared", json=state, headers=AUTH)
                assert answer.status_code == 200
                assert await client.next_state() == state
                from_b = await http.get(f"{node_b}/overlay/shared", headers=AUTH)
                assert from_b.json() == state
        finally:
            await redis.aclose()
        # Neither node wrote a state file: the state lives in Redis.
        assert not (tmp_path / "a").exists() or not any((tmp_path / "a").iterdir())
