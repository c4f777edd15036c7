"""X-Signature-Ed25519 on every forward, verified under Node by discord-interactions'
verifyKey with the key from GET /interactions/public-key, as the main app does."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from gateway.delivery.signing_key import FILE_NAME
from gateway.simulator import factory
from tests.endpoint.node_verify import verify_key
from tests.support.harness.app import running_app
from tests.support.harness.main_app import MainApp
from tests.support.harness.server import serve


async def fetch_public_key(url: str) -> str:
    """GET /interactions/public-key without credentials (a public route)."""
    async with httpx.AsyncClient(base_url=url) as client:
        answer = await client.get("/interactions/public-key")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert list(body) == ["public_key"]
    key: str = body["public_key"]
    return key


SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"


async def test_forward_is_signed_as_discord_signs_and_verify_key_accepts_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="asgi_app.services")
    main = MainApp()
    async with serve(main) as main_url:
        forward = main_url + "/api/discord/interactions"
        async with running_app(tmp_path, FORWARD_URL=forward) as srv:
            public_key = await fetch_public_key(srv.url)
            assert len(public_key) == 64 and int(public_key, 16) >= 0
            assert public_key == srv.app.services.running.signing_public_key
            for make in (factory.command("draft"), factory.component("pick:1")):
                await srv.sim.send_interaction(make)
            await srv.sim.wait_for(lambda: len(main.requests) == 2, 5)
    logged = [r.getMessage() for r in caplog.records if public_key in r.getMessage()]
    assert logged and "X-Signature-Ed25519" in logged[0]
    checks = []
    for forwarded in main.requests:
        headers, body = forwarded.headers, forwarded.body
        signature, timestamp = headers["x-signature-ed25519"], headers["x-signature-timestamp"]
        assert len(signature) == 128
        checks.append((body, signature, timestamp, public_key))
        checks.append((body + b" ", signature, timestamp, public_key))  # tampered
        checks.append((body, signature, str(int(timestamp) + 1), public_key))
    assert await verify_key(checks) == [True, False, False] * 2


async def test_generated_key_survives_a_restart(tmp_path: Path) -> None:
    keys = []
    for _ in range(2):
        async with running_app(tmp_path, wait_ready=False) as srv:
            keys.append(await fetch_public_key(srv.url))
    assert keys[0] == keys[1]
    assert (tmp_path / FILE_NAME).stat().st_mode & 0o777 == 0o600


async def test_forward_signing_key_setting_wins(tmp_path: Path) -> None:
    async with running_app(tmp_path, wait_ready=False, FORWARD_SIGNING_KEY=SEED) as srv:
        assert await fetch_public_key(srv.url) == PUBLIC
    assert not (tmp_path / FILE_NAME).exists()
