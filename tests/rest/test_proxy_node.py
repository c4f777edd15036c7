"""A real client of the REST proxy: @discordjs/rest (npm) under Node, against the app served by
a real uvicorn on loopback in front of the simulator."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.harness.app import AUTH_TOKEN, running_app
from tests.support.tools import require_tool

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("proxy_client.mjs")
CHANNEL = "111"
LIMITED = "222"


async def run_client(base: str) -> dict[str, Any]:
    node = require_tool("node")
    if not (ROOT / "node_modules" / "@discordjs" / "rest").is_dir():
        pytest.fail("node_modules is missing: run `make node` (npm ci)")
    process = await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        base,
        AUTH_TOKEN,
        CHANNEL,
        LIMITED,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    result: dict[str, Any] = json.loads(out)
    return result


async def test_discordjs_rest_through_the_proxy(tmp_path: Path) -> None:
    async with running_app(tmp_path, wait_ready=False) as srv:
        sim = srv.sim
        sim.rest.inject(f"/channels/{LIMITED}/messages", 429, retry_after=30)
        result = await run_client(srv.url)

        created, edited, fetched = result["created"], result["edited"], result["fetched"]
        assert created["content"] == "hello from discord.js"
        assert edited["id"] == created["id"] and edited["content"] == "edited by discord.js"
        assert edited["edited_timestamp"] is not None
        assert [r["emoji"]["name"] for r in fetched["reactions"]] == ["👍", "🎉"]
        (attachment,) = result["uploaded"]["attachments"]
        assert attachment["filename"] == "hello.txt" and attachment["size"] == 12
        (upload,) = sim.channel_messages.uploads
        assert (upload.field, upload.data, upload.content_type) == (
            "files[0]",
            b"hello, file\n",
            "text/plain",
        )
        assert result["uploaded"]["content"] == "a file"

        # the reaction route has its own bucket (1 per 0.25 s): the second reaction waited for
        # it, and Discord never had to refuse one
        reactions = sim.rest.find("PUT", "/channels/*/reactions/*")
        assert [r.status for r in reactions] == [204, 204]
        assert reactions[1].at - reactions[0].at >= 0.2
        assert reactions[0].path.endswith("/reactions/%F0%9F%91%8D/@me")

        # the 429 reached discord.js as Discord's own (Retry-After, X-RateLimit-*)
        limited = result["limited"]
        assert limited is not None and limited["name"].startswith("RateLimitError"), limited
        assert limited["retryAfter"] >= 29_000 and limited["global"] is False
        assert len(sim.rest.find("POST", f"/channels/{LIMITED}/messages")) == 1

        sent = [r for r in sim.rest.requests if r.path.startswith("/channels/")]
        assert len(sent) == 7  # create, edit, 2 reactions, get, upload, the 429
        for request in sent:
            assert request.headers["authorization"] == f"Bot {sim.token}"
            assert request.headers["user-agent"].startswith("DiscordBot (")
        for request in sim.rest.requests:
            assert all(AUTH_TOKEN not in value for value in request.headers.values())
            assert AUTH_TOKEN.encode() not in request.body
        assert sent[0].headers["x-audit-log-reason"] == "proxy%20test"
        assert sent[-2].headers["content-type"].startswith("multipart/form-data; boundary=")
