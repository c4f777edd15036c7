"""Two nodes and one Redis behind a real nginx with the shipped deploy/nginx.conf (ports
changed, nothing else): the OBS page's transports (WebSocket first, long-polling as the
fallback), with socket.io-client under Node, long-polling alone (the fallback's requests all
reach one node through `ip_hash`), and the page itself in Chromium, receive every update
POSTed to either node, straight or through nginx's round robin."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from asgi_app.overlay.state import view_key
from tests.ops.nginx import AUTH_TOKEN, Nginx, start_node
from tests.overlay.helpers import overlay_data
from tests.overlay.test_node_client import node_client
from tests.support.browser import chromium
from tests.support.harness.process import ROOT, ServerProcess
from tests.support.harness.redis_server import redis_server
from tests.support.tools import require_tool

AUTH = {"Authorization": AUTH_TOKEN}
#: The page's own Socket.IO options (asgi_app/overlay/static/overlay.js).
PAGE_TRANSPORTS: dict[str, Any] = {"transports": ["websocket", "polling"], "tryAllTransports": True}


def shipped_config(listen: int, backends: list[int]) -> str:
    """deploy/nginx.conf for `backends`: its port and node addresses changed, nothing else."""
    config = (ROOT / "deploy" / "nginx.conf").read_text()
    servers = " ".join(f"server 127.0.0.1:{port};" for port in backends)
    for old, new in (
        ("listen 80;", f"listen 127.0.0.1:{listen};"),
        ("server 127.0.0.1:8001; server 127.0.0.1:8002;", servers),
    ):
        assert old in config, old
        config = config.replace(old, new)
    return config


@pytest.fixture
async def behind_nginx(tmp_path: Path) -> AsyncIterator[tuple[Nginx, list[int]]]:
    nodes: list[tuple[ServerProcess, int]] = []
    proxy: Nginx | None = None
    async with redis_server(require_tool("redis-server")) as redis_url:
        try:
            for name in ("a", "b"):
                nodes.append(await start_node(tmp_path / name, REDIS_URL=redis_url))
            ports = [port for _, port in nodes]
            proxy = await Nginx(tmp_path / "nginx", ports, shipped_config).start()
            yield proxy, ports
        finally:
            if proxy is not None:
                proxy.stop()
            for node, _ in nodes:
                node.stop()


def _targets(proxy: Nginx, ports: list[int]) -> list[str]:
    """Where updates are POSTed: nginx (round robin) and each node straight."""
    return [proxy.url, *(f"http://127.0.0.1:{port}" for port in ports)] * 2


async def _post(target: str, state: dict[str, Any]) -> None:
    async with httpx.AsyncClient(base_url=target, timeout=10) as http:
        answer = await http.post("/overlay", json=state, headers=AUTH)
        assert answer.status_code == 200, answer.text


async def test_the_pages_transports_and_polling_alone_get_every_update(
    behind_nginx: tuple[Nginx, list[int]],
) -> None:
    proxy, ports = behind_nginx
    auth = {"token": AUTH_TOKEN, "overlay": "default"}
    score = 0
    async with (
        node_client(proxy.url, auth=auth, **PAGE_TRANSPORTS) as page_like,
        node_client(proxy.url, auth=auth, transports=["polling"]) as polling,
    ):
        for client in (page_like, polling):
            assert (await client.next_event())["event"] == "connect"
            assert (await client.next_event())["event"] == "overlay"  # the state on connect
        for target in _targets(proxy, ports):
            score += 1
            state = overlay_data(blue=score, max_score=99)
            await _post(target, state)
            for client in (page_like, polling):
                assert await client.next_event() == {"event": "overlay", "data": state}
    # The page's client went by WebSocket; the polling client's requests all reached one node
    # (ip_hash); the POSTs through nginx were spread over both (round robin).
    await proxy.logged('GET /socket.io/?EIO=4&transport=websocket HTTP/1.1" 101 ')
    polls = await proxy.logged("transport=polling")
    assert len({line.rsplit(" ", 1)[1] for line in polls}) == 1, polls
    posts = await proxy.logged("POST /overlay ", 2)
    assert {line.rsplit(" ", 1)[1] for line in posts} == {f"127.0.0.1:{p}" for p in ports}


async def test_the_obs_page_in_chromium_gets_every_update_through_the_shipped_config(
    behind_nginx: tuple[Nginx, list[int]],
) -> None:
    proxy, ports = behind_nginx
    url = f"{proxy.url}/overlay/view/default?key={view_key(AUTH_TOKEN, 'default')}"
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 200})
        await page.goto(url)
        await page.wait_for_selector('#scoreboard[data-status="live"]', timeout=15000)
        for score, target in enumerate(_targets(proxy, ports), start=1):
            await _post(target, overlay_data(blue=score, max_score=99))
            await expect(page.locator(".team--blue .team__score")).to_have_text(
                str(score), timeout=15000
            )
        await page.close()
    upgrades = await proxy.logged('HTTP/1.1" 101 ')
    assert all(re.search(r"transport=websocket", line) for line in upgrades), upgrades
