"""The gateway's WebSocket goes through the operator's outgoing proxy too (one reading of the
environment, gateway/egress.py): a real tinyproxy with credentials, a CONNECT tunnel to the
simulator, and a session that reaches READY through it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gateway.simulator import DiscordSimulator
from tests.support.tinyproxy import clear_proxy_env, tinyproxy

from .conftest import MakeShard, ready_shard


async def test_the_shard_connects_through_the_proxy(
    tmp_path: Path, sim: DiscordSimulator, make_shard: MakeShard, monkeypatch: pytest.MonkeyPatch
) -> None:
    clear_proxy_env(monkeypatch)
    with tinyproxy(tmp_path) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url())  # the simulator is ws://
        await ready_shard(sim, make_shard)
        where = urlsplit(sim.gateway_url).netloc
        assert proxy.requests() == [f"CONNECT {where} HTTP/1.1"]
