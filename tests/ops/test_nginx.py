"""nginx in front, configured as the README tells operators (tests/ops/nginx.py): HTTP and the
Socket.IO WebSocket through it, X-Forwarded-For trusted only from the proxy, the OBS page in a
real Chromium, a SIGTERM drained, and two nodes with one Redis behind round-robin."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
from playwright.async_api import expect

from asgi_app.overlay.state import view_key
from tests.ops.nginx import AUTH_TOKEN, Nginx, client_from, start_node
from tests.overlay.helpers import connected, overlay_data
from tests.support.browser import ARTIFACTS, chromium
from tests.support.harness.process import ServerProcess
from tests.support.harness.redis_server import RedisProcess
from tests.support.tools import require_tool

AUTH = {"Authorization": AUTH_TOKEN}
SERVER_DISCONNECT = socketio.AsyncClient.reason.SERVER_DISCONNECT  # not TRANSPORT_ERROR


@pytest.fixture
async def single(tmp_path: Path) -> AsyncIterator[tuple[Nginx, ServerProcess, int]]:
    node, port = await start_node(tmp_path / "node", RATE_LIMIT_PER_MINUTE="4")
    proxy = await Nginx(tmp_path / "nginx", [port]).start()
    try:
        yield proxy, node, port
    finally:
        proxy.stop()
        node.stop()


async def test_http_and_the_socketio_websocket_pass_through_nginx(
    single: tuple[Nginx, ServerProcess, int],
) -> None:
    proxy, _, _ = single
    async with httpx.AsyncClient(base_url=proxy.url, timeout=10) as http:
        assert (await http.get("/")).text == "App is running"
        health = await http.get("/health")
        assert health.status_code == 200 and health.json()["status"] == "ok"
        async with connected(proxy.url, auth={"token": AUTH_TOKEN}) as client:
            assert client.sio.transport() == "websocket"
            await client.next_state()  # the state on connect
            state = overlay_data(blue=1)
            posted = await http.post("/overlay", json=state, headers=AUTH)
            assert posted.status_code == 200 and posted.json()["clients"] == 1
            assert await client.next_state() == state
    await proxy.logged('HTTP/1.1" 101 ')  # the upgrade went through nginx


async def test_forwarded_for_is_trusted_only_from_the_proxy(
    single: tuple[Nginx, ServerProcess, int],
) -> None:
    """RATE_LIMIT_PER_MINUTE=4: the limit keys on the real client, whatever it claims."""
    proxy, _, port = single

    async def statuses(address: str, base: str, spoof: bool) -> list[int]:
        async with client_from(address, base) as http:
            found = []
            for i in range(6):
                headers = dict(AUTH)
                if spoof:
                    headers["X-Forwarded-For"] = f"203.0.113.{i}"
                found.append((await http.get("/overlay", headers=headers)).status_code)
            return found

    # Through nginx, claiming a new address each time: still limited as 127.0.0.2.
    assert await statuses("127.0.0.2", proxy.url, spoof=True) == [200] * 4 + [429] * 2
    # Another client through the same nginx has its own budget (not nginx's address).
    assert (await statuses("127.0.0.3", proxy.url, spoof=False))[:4] == [200] * 4
    # Straight to the server from an untrusted peer: its X-Forwarded-For is ignored.
    direct = f"http://127.0.0.1:{port}"
    assert await statuses("127.0.0.4", direct, spoof=True) == [200] * 4 + [429] * 2


async def _page_shows(browser: Any, url: str, post: Any, score: int) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 200})
    try:
        await page.goto(url)
        await page.wait_for_selector('#scoreboard[data-status="live"]', timeout=15000)
        await post(overlay_data(blue=score, max_score=10))
        await expect(page.locator(".team--blue .team__score")).to_have_text(
            str(score), timeout=15000
        )
    finally:
        await page.close()


async def test_the_obs_page_through_nginx_in_chromium(
    single: tuple[Nginx, ServerProcess, int],
) -> None:
    proxy, _, _ = single
    async with httpx.AsyncClient(base_url=proxy.url, timeout=10) as http, chromium() as browser:

        async def post(state: dict[str, Any]) -> None:
            assert (await http.post("/overlay", json=state, headers=AUTH)).status_code == 200

        url = f"{proxy.url}/overlay/view/default?key={view_key(AUTH_TOKEN, 'default')}"
        page = await browser.new_page(viewport={"width": 1280, "height": 200})
        await page.goto(url)
        await page.wait_for_selector('#scoreboard[data-status="live"]', timeout=15000)
        await post(overlay_data(blue=2, max_score=3))
        await expect(page.locator(".team--blue .team__score")).to_have_text("2", timeout=15000)
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "overlay-through-nginx.png"))


async def test_a_sigterm_behind_nginx_drains_without_errors_at_connected_clients(
    single: tuple[Nginx, ServerProcess, int],
) -> None:
    proxy, node, _ = single
    reasons: list[Any] = []
    clients = []
    for _ in range(3):
        sio = socketio.AsyncClient(reconnection=False)
        sio.on("disconnect", lambda reason=None: reasons.append(reason), namespace="/overlay")
        await sio.connect(
            proxy.url, auth={"token": AUTH_TOKEN}, namespaces=["/overlay"],
            transports=["websocket"], wait_timeout=10,
        )  # fmt: skip
        clients.append(sio)

    answers: list[int] = []
    failures: list[str] = []
    stopping = asyncio.Event()

    async def load(address: str) -> None:
        # Public route (no rate limit), keep-alive connections through nginx.
        async with client_from(address, proxy.url) as http:
            while not stopping.is_set():
                try:
                    answers.append((await http.get("/livez")).status_code)
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                await asyncio.sleep(0.01)

    loaders = [asyncio.create_task(load(f"127.0.0.{10 + i}")) for i in range(4)]
    await asyncio.sleep(1.0)
    before = len(answers)
    code = await node.terminate(signal.SIGTERM)
    await asyncio.sleep(0.5)
    stopping.set()
    await asyncio.gather(*loaders)
    for sio in clients:
        await sio.wait() if sio.connected else None

    assert code == 0, node.output
    assert before > 20 and failures == [], failures  # nginx answered every request
    # 200 while the server listened, then nginx's 502 (nothing listens): never a 5xx from a
    # request cut off half way, never a 200 after a 502.
    assert set(answers) <= {200, 502}, set(answers)
    first_502 = answers.index(502) if 502 in answers else len(answers)
    assert all(status == 200 for status in answers[:first_502])
    # nginx's own view: no response cut off half way. An idle keep-alive connection that the
    # server closes just as nginx reuses it fails "while reading response header" (the server
    # never read that request); nginx retries such a GET, the client sees no error.
    cut_off = [
        line
        for line in proxy.errors().splitlines()
        if "[error]" in line
        and "Connection refused" not in line
        and "no live upstreams" not in line
        and "while reading response header from upstream" not in line
    ]
    assert cut_off == [], cut_off
    # Each Socket.IO client was told by the server (a disconnect packet), not cut off.
    assert len(reasons) == 3 and all(r == SERVER_DISCONNECT for r in reasons), reasons
    assert "Traceback" not in node.output, node.output


async def test_two_nodes_one_redis_round_robin_the_page_updates_through_either(
    tmp_path: Path,
) -> None:
    redis = await RedisProcess(require_tool("redis-server")).start()
    nodes: list[tuple[ServerProcess, int]] = []
    proxy: Nginx | None = None
    try:
        for name in ("a", "b"):
            nodes.append(await start_node(tmp_path / name, REDIS_URL=redis.url))
        proxy = await Nginx(tmp_path / "nginx", [port for _, port in nodes]).start()
        url = f"{proxy.url}/overlay/view/default?key={view_key(AUTH_TOKEN, 'default')}"
        async with chromium() as browser:
            score = 0
            # Several pages (each a new set of requests spread over both nodes), each updated
            # by a POST through nginx and by a POST straight to each node.
            for target in [proxy.url, *(f"http://127.0.0.1:{port}" for _, port in nodes)] * 2:
                score += 1
                async with httpx.AsyncClient(base_url=target, timeout=10) as http:

                    async def post(state: dict[str, Any], http: httpx.AsyncClient = http) -> None:
                        answer = await http.post("/overlay", json=state, headers=AUTH)
                        assert answer.status_code == 200, answer.text

                    await _page_shows(browser, url, post, score)
        upgrades = await proxy.logged('HTTP/1.1" 101 ', 6)
        used = {line.rsplit(" ", 1)[1] for line in upgrades}
        # Every page went through nginx over a WebSocket, and both nodes held some.
        assert used == {f"127.0.0.1:{port}" for _, port in nodes}, upgrades
    finally:
        if proxy is not None:
            proxy.stop()
        for node, _ in nodes:
            node.stop()
        redis.stop()
