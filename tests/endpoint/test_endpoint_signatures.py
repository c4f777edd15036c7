"""POST /interactions: Discord's Ed25519 signature checked before anything else; PING."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from asgi_app.routes.interactions import BAD_SIGNATURE
from gateway.simulator import factory
from gateway.simulator.http_delivery import HttpDelivery
from tests.endpoint.harness import endpoint_app
from tests.support.harness.app import running_app


async def test_ping_and_the_portal_check(tmp_path: Path) -> None:
    async with endpoint_app(tmp_path, wait_ready=False) as ep:
        discord = ep.discord
        assert await discord.validate_endpoint()
        ping = discord.deliveries[0]
        assert ping.status == 200 and ping.answer == {"type": 1}
        assert ping.headers["content-type"].startswith("application/json")
        assert discord.deliveries[1].status == 401


async def test_bad_missing_and_stale_signatures_get_the_same_401(tmp_path: Path) -> None:
    other = Ed25519PrivateKey.generate()
    async with (
        endpoint_app(tmp_path) as ep,
        httpx.AsyncClient(base_url=ep.srv.url) as client,
    ):
        srv, discord, main = ep.srv, ep.discord, ep.main
        body = orjson.dumps(
            factory.command("draft")
            | {"id": srv.sim.ids.next(), "token": "t" * 60, "application_id": "1000"}
        )
        now = int(time.time())
        ts = str(now)
        good = discord.sign(ts, body)
        cases = {
            "no signature": {"X-Signature-Timestamp": ts},
            "no timestamp": {"X-Signature-Ed25519": good},
            "no headers": {},
            "another key": {
                "X-Signature-Timestamp": ts,
                "X-Signature-Ed25519": other.sign(ts.encode() + body).hex(),
            },
            "another body": {
                "X-Signature-Timestamp": ts,
                "X-Signature-Ed25519": discord.sign(ts, body + b" "),
            },
            "the signature's timestamp changed": {
                "X-Signature-Timestamp": str(now - 1),
                "X-Signature-Ed25519": good,
            },
            "not hex": {"X-Signature-Timestamp": ts, "X-Signature-Ed25519": "z" * 128},
            "stale (over 5 minutes)": {
                "X-Signature-Timestamp": str(now - 310),
                "X-Signature-Ed25519": discord.sign(str(now - 310), body),
            },
            "from the future": {
                "X-Signature-Timestamp": str(now + 310),
                "X-Signature-Ed25519": discord.sign(str(now + 310), body),
            },
        }
        answers = {}
        for name, headers in cases.items():
            answer = await client.post(
                "/interactions",
                content=body,
                headers={"Content-Type": "application/json", **headers},
            )
            assert answer.status_code == 401, name
            assert answer.headers["content-type"] == "application/problem+json", name
            answers[name] = answer.content
        assert len(set(answers.values())) == 1  # nothing else said
        assert orjson.loads(answers["no headers"]) == {
            "type": "about:blank",
            "title": "Unauthorized",
            "status": 401,
            "detail": BAD_SIGNATURE,
        }
        # A signature 4 minutes old is still accepted (Discord's clock may be off).
        ping = orjson.dumps({"type": 1, "id": srv.sim.ids.next(), "token": "t" * 60})
        old = str(now - 240)
        fine = await discord.post(ping, timestamp=old, signature=discord.sign(old, ping))
        assert (fine.status, fine.answer) == (200, {"type": 1})
        # None of the refused ones reached the pipeline; a well-signed one does.
        assert main.requests == []
        assert [r for r in srv.sim.rest.requests if r.path.endswith("/callback")] == []
        accepted = await discord.post(body)
        assert (accepted.status, accepted.answer) == (200, {"type": 5})
        await srv.sim.wait_for(lambda: main.requests, 5)
        assert [r.headers["x-interaction-id"] for r in main.requests] == [orjson.loads(body)["id"]]


async def test_signed_garbage_is_a_400_and_the_body_limit_holds(tmp_path: Path) -> None:
    async with endpoint_app(tmp_path, wait_ready=False, BODY_LIMIT_BYTES="2000") as ep:
        discord = ep.discord
        for body in (b"{not json", b"[1, 2]", b'{"type": "2"}'):
            answer = await discord.post(body, payload={})
            assert answer.status == 400
            assert answer.headers["content-type"] == "application/problem+json"
        big = orjson.dumps({"type": 1, "pad": "x" * 3000})
        assert (await discord.post(big)).status == 413


async def test_no_endpoint_without_discord_public_key(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    async with (
        running_app(tmp_path, wait_ready=False) as srv,
        HttpDelivery(srv.sim, srv.url + "/interactions", key=key) as discord,
    ):
        assert not await discord.validate_endpoint()
        assert discord.deliveries[0].status == 404
