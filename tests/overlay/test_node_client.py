"""The official socket.io-client (npm) under Node against the overlay server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from asgi_app.overlay.state import DEFAULT_STATE, view_key
from tests.overlay.app_factory import ORIGIN, TOKEN
from tests.overlay.helpers import Served, overlay_data
from tests.support.tools import require_tool

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("node_client.mjs")


class NodeClient:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def next_event(self, timeout: float = 15) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        assert line, "node client exited without an event"
        event: dict[str, Any] = json.loads(line)
        return event


@asynccontextmanager
async def node_client(url: str, **options: Any) -> AsyncIterator[NodeClient]:
    node = require_tool("node")
    if not (ROOT / "node_modules" / "socket.io-client").is_dir():
        pytest.fail("node_modules is missing: run `make node` (npm ci)")
    process = await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        url,
        json.dumps(options),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        yield NodeClient(process)
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


async def test_state_on_connect_and_update_after_post(server: Served) -> None:
    async with node_client(server.url, auth={"token": TOKEN, "overlay": "n1"}) as client:
        assert (await client.next_event())["event"] == "connect"
        assert await client.next_event() == {"event": "overlay", "data": DEFAULT_STATE}
        answer = await server.post(overlay_data(blue=2, note="from node test"), name="n1")
        assert answer.json()["clients"] == 1
        assert await client.next_event() == {
            "event": "overlay",
            "data": overlay_data(blue=2, note="from node test"),
        }


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({}, id="no-credentials"),
        pytest.param({"auth": {"token": "wrong"}}, id="wrong-token"),
        pytest.param({"auth": {"key": view_key(TOKEN, "b"), "overlay": "a"}}, id="other-key"),
        pytest.param({"namespace": "/"}, id="default-namespace"),
    ],
)
async def test_refused(server: Served, options: dict[str, Any]) -> None:
    async with node_client(server.url, **options) as client:
        event = await client.next_event()
        assert event["event"] == "connect_error"
        assert event["message"] == "unauthorized"


async def test_wrong_origin_refused(server: Served) -> None:
    options = {"auth": {"token": TOKEN}, "headers": {"Origin": "http://evil.test"}}
    async with node_client(server.url, **options) as client:
        assert (await client.next_event())["event"] == "connect_error"


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"query": {"authorization": TOKEN, "overlay": "q"}}, id="query-token"),
        pytest.param({"headers": {"Origin": ORIGIN}, "query": {"overlay": "q"}}, id="origin"),
        pytest.param({"auth": {"key": view_key(TOKEN, "q"), "overlay": "q"}}, id="view-key"),
        pytest.param(
            {"auth": {"token": TOKEN, "overlay": "q"}, "transports": ["polling"]}, id="polling"
        ),
    ],
)
async def test_admitted_and_only_its_room(server: Served, options: dict[str, Any]) -> None:
    async with node_client(server.url, **options) as client:
        assert (await client.next_event())["event"] == "connect"
        assert (await client.next_event())["data"] == DEFAULT_STATE
        await server.post(overlay_data(blue=1), name="elsewhere")
        await server.post(overlay_data(red=1), name="q")
        got = await client.next_event()
        assert got["data"]["red"]["score"] == 1 and got["data"]["blue"]["score"] == 0
