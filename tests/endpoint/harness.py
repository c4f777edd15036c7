"""The server with POST /interactions enabled, a stand-in main app, and Discord's HTTP
delivery signing with a key pair made here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from asgi_app.settings import Settings, load_settings
from gateway.simulator.http_delivery import HttpDelivery
from tests.support.harness import app as harness_app
from tests.support.harness.app import Running, running_app
from tests.support.harness.main_app import MainApp
from tests.support.harness.server import serve


def public_hex(key: Ed25519PrivateKey) -> str:
    return key.public_key().public_bytes_raw().hex()


@dataclass
class Endpoint:
    srv: Running
    discord: HttpDelivery
    main: MainApp
    key: Ed25519PrivateKey


@asynccontextmanager
async def endpoint_app(
    tmp_path: Path, main: MainApp | None = None, *, wait_ready: bool = True, **env: str
) -> AsyncIterator[Endpoint]:
    key = Ed25519PrivateKey.generate()
    stand_in = main or MainApp()
    async with (
        serve(stand_in) as main_url,
        running_app(
            tmp_path,
            sim=None,
            wait_ready=wait_ready,
            DISCORD_PUBLIC_KEY=public_hex(key),
            FORWARD_URL=main_url + "/api/discord/interactions",
            **env,
        ) as srv,
        HttpDelivery(srv.sim, srv.url + "/interactions", key=key) as discord,
    ):
        yield Endpoint(srv, discord, stand_in, key)


def pending_settings(monkeypatch: pytest.MonkeyPatch, **values: Any) -> None:
    """Settings the settings branch adds (INTERACTION_RESPONSE, RESPONSE_WINDOW_MS...), set on
    the loaded Settings while this branch's settings.py does not read them yet; once it does,
    the same values come from the environment and this changes nothing."""

    def load_with_pending(*args: Any, **kwargs: Any) -> Settings:
        settings = load_settings(*args, **kwargs)
        for name, value in values.items():
            if not hasattr(settings, name):
                object.__setattr__(settings, name, value)  # frozen dataclass, no slots
        return settings

    monkeypatch.setattr(harness_app, "load_settings", load_with_pending)
