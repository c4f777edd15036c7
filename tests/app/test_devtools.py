"""Development mode: embedded simulator, stand-in main app and the console that fires
interactions (the same loop `make run` gives a newcomer)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from asgi_app.factory import ServerApp, create_app
from asgi_app.settings import load_settings
from gateway.delivery.signatures import Ed25519Signer, sign
from tests.support.browser import chromium
from tests.support.harness.app import discord_of
from tests.support.harness.logcapture import note_settings
from tests.support.harness.server import free_port, serve


@pytest.fixture
async def dev(tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, ServerApp]]:
    port = free_port()
    env = {"APP_ENV": "development", "PORT": str(port), "STATE_DIR": str(tmp_path)}
    app = create_app(note_settings(load_settings(env, env_file=None)))
    assert app.settings.use_simulator
    async with (
        serve(app, port=port, lifespan="on") as url,
        httpx.AsyncClient(base_url=url, timeout=40) as client,
    ):
        gateway = discord_of(app).gateway
        assert gateway is not None
        await asyncio.wait_for(gateway.wait_for("ready"), 10)
        yield client, app


def _steps(result: dict[str, object]) -> list[str]:
    steps = result["steps"]
    assert isinstance(steps, list)
    return [f"{s['step']}: {s['detail']}" for s in steps]


async def test_fired_command_is_deferred_forwarded_and_edited(
    dev: tuple[httpx.AsyncClient, ServerApp],
) -> None:
    client, _ = dev
    result = (await client.post("/dev/fire", json={"kind": "command"})).json()
    assert result["finished"] is True
    steps = _steps(result)
    assert steps[0] == "dispatched: INTERACTION_CREATE sent"
    assert "acknowledged: deferred (type 5)" in steps
    assert "forwarded: /command answered 200" in steps
    assert any(s.startswith("outcome: response edited by the main app") for s in steps)


async def test_autocomplete_gets_the_stand_in_choices(
    dev: tuple[httpx.AsyncClient, ServerApp],
) -> None:
    client, _ = dev
    result = (await client.post("/dev/fire", json={"kind": "autocomplete"})).json()
    assert result["finished"] is True
    assert any(s.startswith("acknowledged: autocomplete choices: 4") for s in _steps(result))


async def test_main_app_down_shows_the_error_to_the_user(
    dev: tuple[httpx.AsyncClient, ServerApp],
) -> None:
    client, _ = dev
    assert (await client.post("/dev/main-app", json={"mode": "down"})).json() == {"mode": "down"}
    result = (await client.post("/dev/fire", json={"kind": "component"})).json()
    assert result["finished"] is True
    steps = _steps(result)
    assert steps.count("forwarded: /component answered 503") == 3  # retried
    assert any(s.startswith("outcome: ephemeral follow-up: error shown") for s in steps)
    bad = await client.post("/dev/main-app", json={"mode": "sideways"})
    assert bad.status_code == 422


async def test_console_page_and_overlay_link(dev: tuple[httpx.AsyncClient, ServerApp]) -> None:
    client, app = dev
    page = await client.get("/dev")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text  # scripts are files: the CSP allows no inline code
    assert (await client.get("/dev/console.js")).status_code == 200
    link = (await client.get("/dev/overlay-link")).json()["url"]
    assert link.startswith("/overlay/view/default?key=")
    assert app.settings.auth_token.get() not in link
    view = await client.get(link)
    assert view.status_code == 200


async def _fire(client: httpx.AsyncClient, kind: str, mode: str, response: str) -> list[str]:
    changed = (await client.post("/dev/main-app", json={"mode": mode, "response": response})).json()
    assert changed == {"mode": mode, "response": response}
    result = (await client.post("/dev/fire", json={"kind": kind})).json()
    assert result["finished"] is True, result
    assert result["response_mode"] == response
    return _steps(result)


async def test_the_stand_in_opens_a_modal_replies_privately_and_updates_the_message(
    dev: tuple[httpx.AsyncClient, ServerApp],
) -> None:
    client, _ = dev
    modal = await _fire(client, "command", "modal", "respond")
    assert "first response: modal opened (type 9): Propose a trade" in modal
    private = await _fire(client, "command", "private", "respond")
    assert any(s.startswith("first response: private reply (type 4)") for s in private)
    update = await _fire(client, "component", "update", "respond")
    assert any(s.startswith("first response: message updated (type 7)") for s in update)
    state = (await client.get("/dev/main-app")).json()
    assert state["mode"] == "update" and state["response"] == "respond"


async def test_the_stand_in_answering_late_is_delivered_after_the_defer(
    dev: tuple[httpx.AsyncClient, ServerApp],
) -> None:
    client, _ = dev
    steps = await _fire(client, "command", "late", "respond")
    assert "acknowledged: deferred (type 5)" in steps
    # the answer (type 4, after the window) delivered by the relay as the @original edit
    assert any(
        s.startswith("outcome: response edited by the main app")
        and s.endswith("(only you see this)")
        for s in steps
    )
    private = await _fire(client, "component", "private", "defer-ephemeral")
    assert "acknowledged: deferred (type 5, private)" in private


async def test_the_stand_in_accepts_on_both_signatures_alone(
    dev: tuple[httpx.AsyncClient, ServerApp],
) -> None:
    """No Authorization header is needed (CONTRACT.md v3); a forward, an event batch or a
    timer delivery that lacks the Ed25519 signature, or whose HMAC is keyed with another
    secret, is refused."""
    client, app = dev
    body = b'{"id": "1", "type": 2, "data": {"name": "draft"}}'
    stamp = str(int(time.time()))
    key = app.services.running.signing_key
    assert key is not None
    good = {
        "Content-Type": "application/json",
        "X-Signature-Timestamp": stamp,
        "X-Signature-SHA256": sign(app.settings.auth_token.get(), stamp, body),
        **Ed25519Signer(key)(stamp, body),
    }
    no_ed25519 = {k: v for k, v in good.items() if k != "X-Signature-Ed25519"}
    other_hmac = good | {"X-Signature-SHA256": sign("another-secret" * 3, stamp, body)}
    for path in (
        "/api/discord/interactions/command",
        "/api/discord/events",
        "/api/discord/timers",
    ):
        assert (await client.post(path, content=body, headers=good)).status_code == 200, path
        for bad in (no_ed25519, other_hmac):
            assert (await client.post(path, content=body, headers=bad)).status_code == 401, path
    received = (await client.get("/dev/events")).json()["received"]
    assert [r["signature_ok"] for r in received] == [True, False, False]


async def test_the_console_page_shows_what_a_fired_interaction_and_event_did(
    dev: tuple[httpx.AsyncClient, ServerApp],
) -> None:
    """The page itself (console.js) in Chromium: a fired command's steps, then a fired
    MESSAGE_CREATE's delivery and outcome, each as a line of its panel."""
    client, _ = dev
    async with chromium() as browser:
        page = await browser.new_page()
        await page.goto(str(client.base_url.join("/dev")))
        await page.click('button[data-kind="command"]')
        steps = page.locator("#steps li")
        await expect(steps.filter(has_text="forwarded: /command answered 200")).to_have_count(
            1, timeout=30000
        )
        await expect(steps.first).to_contain_text("ms")
        await expect(steps.filter(has_text="[X-Response-Mode: deferred]")).to_have_count(1)
        await page.locator("#event-kinds button", has_text="MESSAGE_CREATE").first.click()
        events = page.locator("#event-steps li")
        await expect(events.last).to_have_text("outcome: delivered", timeout=30000)
        await expect(events.filter(has_text="answered 200")).to_have_count(1)
