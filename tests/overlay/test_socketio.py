"""Socket.IO with real python-socketio clients over loopback: admission, rooms, pushes."""

from __future__ import annotations

from pathlib import Path

import pytest
import socketio

from asgi_app.overlay.state import DEFAULT_STATE, view_key
from tests.overlay.app_factory import ORIGIN, TOKEN
from tests.overlay.helpers import AUTH, Served, connected, overlay_data, served
from tests.support.waiting import eventually


async def test_state_on_connect_then_update_after_post(server: Served) -> None:
    async with connected(server.url, auth={"token": TOKEN}) as client:
        assert await client.next_state() == DEFAULT_STATE
        state = overlay_data(blue=1, extra={"round": 3})
        answer = await server.post(state)
        assert answer.status_code == 200
        assert answer.json() == {"ok": True, "overlay": "default", "clients": 1}
        assert await client.next_state() == state


async def test_polling_transport_gets_state_and_updates(tmp_path: Path) -> None:
    # engine.io holds a long-poll open for ping_interval + ping_timeout after its client left;
    # short pings let uvicorn stop quickly at the end of the test.
    async with (
        served(tmp_path, ping_interval=0.5, ping_timeout=1) as server,
        connected(server.url, auth={"token": TOKEN}, transport="polling") as client,
    ):
        assert await client.next_state() == DEFAULT_STATE
        await server.post(overlay_data(red=2))
        assert (await client.next_state())["red"]["score"] == 2


@pytest.mark.parametrize(
    ("auth", "headers", "query"),
    [
        pytest.param(None, None, "", id="no-credentials"),
        pytest.param({"token": "wrong-" + TOKEN}, None, "", id="wrong-token"),
        pytest.param({"token": ""}, None, "", id="empty-token"),
        pytest.param(None, None, "?authorization=nope", id="wrong-query-token"),
        pytest.param({"key": view_key(TOKEN, "other")}, None, "", id="key-of-other-overlay"),
        pytest.param({"key": TOKEN}, None, "", id="token-is-not-a-key"),
        pytest.param({"token": TOKEN, "overlay": "../etc"}, None, "", id="bad-overlay-name"),
    ],
)
async def test_refused_without_valid_credentials(
    server: Served,
    auth: dict[str, str] | None,
    headers: dict[str, str] | None,
    query: str,
) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        async with connected(server.url, auth=auth, headers=headers, query=query):
            pass
    assert server.parts.realtime.client_counts() == {}


async def test_wrong_origin_is_refused_even_with_the_token(server: Served) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        async with connected(
            server.url, auth={"token": TOKEN}, headers={"Origin": "http://evil.test"}
        ):
            pass


@pytest.mark.parametrize(
    ("auth", "headers", "query"),
    [
        pytest.param({"token": TOKEN}, None, "", id="auth-token"),
        pytest.param({"token": "Bearer " + TOKEN}, None, "", id="auth-bearer"),
        pytest.param(None, None, f"?authorization={TOKEN}", id="query-token"),
        pytest.param(None, {"Origin": ORIGIN}, "", id="origin-url"),
        pytest.param({"key": view_key(TOKEN, "default")}, None, "", id="view-key"),
    ],
)
async def test_admitted(
    server: Served,
    auth: dict[str, str] | None,
    headers: dict[str, str] | None,
    query: str,
) -> None:
    async with connected(server.url, auth=auth, headers=headers, query=query) as client:
        assert await client.next_state() == DEFAULT_STATE
        assert server.parts.realtime.client_counts() == {"default": 1}


async def test_overlay_chosen_by_auth_or_query(server: Served) -> None:
    await server.post(overlay_data(blue=1), name="stage-a")
    await server.post(overlay_data(red=1), name="stage_b")
    async with (
        connected(server.url, auth={"token": TOKEN, "overlay": "stage-a"}) as by_auth,
        connected(server.url, query=f"?authorization={TOKEN}&overlay=stage_b") as by_query,
        connected(
            server.url, auth={"key": view_key(TOKEN, "stage-a"), "overlay": "stage-a"}
        ) as by_key,
    ):
        assert (await by_auth.next_state())["blue"]["score"] == 1
        assert (await by_query.next_state())["red"]["score"] == 1
        assert (await by_key.next_state())["blue"]["score"] == 1
        assert server.parts.realtime.client_counts() == {"stage-a": 2, "stage_b": 1}


async def test_update_reaches_only_the_clients_of_that_overlay(server: Served) -> None:
    async with (
        connected(server.url, auth={"token": TOKEN, "overlay": "a"}) as a1,
        connected(server.url, auth={"token": TOKEN, "overlay": "a"}) as a2,
        connected(server.url, auth={"token": TOKEN, "overlay": "b"}) as b,
    ):
        for client in (a1, a2, b):
            await client.next_state()
        answer = await server.post(overlay_data(blue=2), name="a")
        assert answer.json() == {"ok": True, "overlay": "a", "clients": 2}
        assert (await a1.next_state())["blue"]["score"] == 2
        assert (await a2.next_state())["blue"]["score"] == 2
        # b's connection is ordered: had it received a's update, it would come first.
        await server.post(overlay_data(red=1), name="b")
        got = await b.next_state()
        assert got["red"]["score"] == 1
        assert got["blue"]["score"] == 0
        assert b.events.empty()


async def test_every_namespace_enforces_admission(server: Served) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        async with connected(server.url, namespace="/"):
            pass
    with pytest.raises(socketio.exceptions.ConnectionError):
        async with connected(server.url, namespace="/admin", auth={"token": TOKEN}):
            pass
    async with connected(server.url, namespace="/", auth={"token": TOKEN}) as root:
        assert root.sio.connected
    assert server.parts.realtime.client_counts() == {}


async def test_clients_cannot_change_state(server: Served) -> None:
    async with connected(server.url, auth={"token": TOKEN}) as client:
        await client.next_state()
        # The server answers the ack (so we know it has handled the event) and changes nothing.
        ack = await client.sio.call(
            "overlay", overlay_data(blue=2), namespace="/overlay", timeout=10
        )
        assert ack is None
        assert (await server.http.get("/overlay", headers=AUTH)).json() == DEFAULT_STATE
        assert client.events.empty()


async def test_client_count_follows_disconnects(server: Served) -> None:
    async with connected(server.url, auth={"token": TOKEN, "overlay": "x"}) as client:
        await client.next_state()
        assert server.parts.realtime.client_count("x") == 1
    await eventually(lambda: not server.parts.realtime.client_count("x"), timeout=10)
    assert server.parts.realtime.client_count("x") == 0
    answer = await server.post(overlay_data(), name="x")
    assert answer.json()["clients"] == 0


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = overlay_data(blue=1, red=2, max_score=3, cameraControlsCover=True)
    async with served(tmp_path / "state") as first:
        assert (await first.post(state, name="finals")).status_code == 200
    async with served(tmp_path / "state") as second:
        async with connected(second.url, auth={"token": TOKEN, "overlay": "finals"}) as client:
            assert await client.next_state() == state
        got = await second.http.get("/overlay/finals", headers=AUTH)
        assert got.json() == state
