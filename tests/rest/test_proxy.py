"""/discord/api/v10/{path}: the REST proxy through the whole app (real uvicorn) in front of the
simulator, with httpx; every refusal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from asgi_app.routes.proxy_body import SpooledBody
from gateway.rest.rules import INVALID_SOFT_LIMIT
from tests.support.harness.app import AUTH_TOKEN, Running, discord_of, running_app

API = "/discord/api/v10"
PROBLEM = "application/problem+json"


@pytest.fixture
async def srv(tmp_path: Path) -> AsyncIterator[Running]:
    async with running_app(tmp_path, wait_ready=False) as running:
        yield running


def reached(srv: Running, pattern: str = "/channels/*") -> int:
    return len(srv.sim.rest.find(None, pattern))


def no_auth_token_reached_discord(srv: Running) -> None:
    for request in srv.sim.rest.requests:
        assert all(AUTH_TOKEN not in value for value in request.headers.values())
        assert AUTH_TOKEN.encode() not in request.body


async def test_a_call_goes_to_discord_with_the_bot_token_and_comes_back_unchanged(
    srv: Running,
) -> None:
    answer = await srv.http.post(
        f"{API}/channels/42/messages?x=1&y=%C3%A9",
        json={"content": "hello"},
        headers={"X-Audit-Log-Reason": "because%20so"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["content"] == "hello"
    (sent,) = srv.sim.rest.find("POST", "/channels/42/messages")
    assert sent.headers["authorization"] == f"Bot {srv.sim.token}"
    assert sent.headers["x-audit-log-reason"] == "because%20so"
    assert sent.headers["content-type"] == "application/json"
    assert sent.query == {"x": "1", "y": "é"}
    assert sent.json == {"content": "hello"}
    # Discord's rate-limit headers come back as Discord sent them
    for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-bucket"):
        assert answer.headers[name]
    assert answer.headers["x-ratelimit-limit"] == "5"
    assert answer.headers["x-ratelimit-remaining"] == "4"
    assert "via" not in answer.headers  # only Discord's rate-limit headers are passed back
    # a Discord error: its status and body unchanged
    missing = await srv.http.patch(f"{API}/channels/42/messages/1", json={"content": "x"})
    assert missing.status_code == 404
    assert missing.json() == {"message": "Unknown Message", "code": 10008}
    no_auth_token_reached_discord(srv)


async def test_without_or_with_a_wrong_token_nothing_reaches_discord(srv: Running) -> None:
    async with httpx.AsyncClient(base_url=srv.url) as anonymous:
        none = await anonymous.get(f"{API}/users/@me")
        wrong = await anonymous.get(f"{API}/users/@me", headers={"Authorization": "Bot x" * 8})
        bot = await anonymous.get(
            f"{API}/users/@me", headers={"Authorization": f"Bot {srv.sim.token}"}
        )
        origin = await anonymous.get(
            f"{API}/users/@me",
            headers={"Authorization": AUTH_TOKEN, "Origin": "https://evil.example"},
        )
    for answer in (none, wrong, bot):
        assert answer.status_code == 401
        assert answer.headers["content-type"] == PROBLEM
    assert origin.status_code == 403
    assert reached(srv, "/users/*") == 0
    ok = await srv.http.get(f"{API}/users/@me", headers={"Authorization": f"Bearer {AUTH_TOKEN}"})
    assert ok.status_code == 200 and ok.json()["bot"] is True
    head = await srv.http.head(f"{API}/users/@me")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == ok.headers["content-length"]
    assert [r.method for r in srv.sim.rest.find(None, "/users/*")] == ["GET", "GET"]


async def test_the_per_address_rate_is_charged_to_wrong_tokens_only(tmp_path: Path) -> None:
    async with running_app(tmp_path, wait_ready=False, RATE_LIMIT_PER_MINUTE="2") as srv:
        for _ in range(4):  # the main app's calls are paced by Discord's limits, not this
            assert (await srv.http.get(f"{API}/users/@me")).status_code == 200
        async with httpx.AsyncClient(base_url=srv.url) as guessing:
            statuses = [
                (await guessing.get(f"{API}/users/@me", headers={"Authorization": "nope"}))
                for _ in range(3)
            ]
        assert [s.status_code for s in statuses] == [401, 401, 429]
        assert statuses[2].headers["retry-after"]


async def test_a_body_over_the_proxy_limit_is_413_before_discord(tmp_path: Path) -> None:
    limit = 300_000
    async with running_app(tmp_path, wait_ready=False, PROXY_BODY_LIMIT_BYTES=str(limit)) as srv:
        # bigger than BODY_LIMIT_BYTES is fine on the proxy...
        big = b'{"content": "' + b"a" * 200_000 + b'"}'
        fine = await srv.http.post(
            f"{API}/channels/5/messages", content=big, headers={"Content-Type": "application/json"}
        )
        assert fine.status_code == 400  # Discord's answer (content over 2000), not a 413
        assert fine.json()["code"] == 50035

        async def chunks() -> AsyncIterator[bytes]:  # streamed (chunked), one byte over
            for _ in range(limit // 1000):
                yield b"a" * 1000
            yield b"a"

        over = await srv.http.post(
            f"{API}/channels/5/messages",
            content=chunks(),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert over.status_code == 413
        assert over.headers["content-type"] == PROBLEM
        declared = await srv.http.post(
            f"{API}/channels/5/messages",
            content=b"a" * (limit + 1),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert declared.status_code == 413
        assert reached(srv, "/channels/5/*") == 1


async def test_a_short_429_is_waited_out_a_long_one_passed_back_then_refused_locally(
    srv: Running,
) -> None:
    srv.sim.rest.inject("/channels/6/messages", 429, retry_after=0.2)
    short = await srv.http.post(f"{API}/channels/6/messages", json={"content": "a"})
    assert short.status_code == 200
    assert reached(srv, "/channels/6/*") == 2  # the proxy retried after Discord's 0.2 s

    srv.sim.rest.inject("/channels/7/messages", 429, retry_after=30)
    long = await srv.http.post(f"{API}/channels/7/messages", json={"content": "b"})
    assert long.status_code == 429  # Discord's own 429, unchanged: 30 s is past the max wait
    assert long.json()["retry_after"] == 30
    assert long.headers["retry-after"] == "30"
    assert long.headers["x-ratelimit-remaining"] == "0"
    bucket = long.headers["x-ratelimit-bucket"]

    again = await srv.http.post(f"{API}/channels/7/messages", json={"content": "c"})
    assert again.status_code == 429  # refused here: the bucket is known to be empty for 30 s
    assert again.headers["content-type"] == PROBLEM
    assert 28 <= int(again.headers["retry-after"]) <= 30
    assert again.headers["x-ratelimit-bucket"] == bucket
    assert again.headers["x-ratelimit-remaining"] == "0"
    assert 28 <= float(again.headers["x-ratelimit-reset-after"]) <= 30
    assert again.headers["x-ratelimit-scope"] == "user"
    body = again.json()
    assert body["status"] == 429 and 28 <= body["retry_after"] <= 30 and body["global"] is False
    assert reached(srv, "/channels/7/*") == 1  # Discord never saw the second one
    # another channel (another bucket) is not held
    other = await srv.http.post(f"{API}/channels/8/messages", json={"content": "d"})
    assert other.status_code == 200


async def test_proxied_401_403_429_count_and_the_budget_refuses_before_a_ban(
    srv: Running,
) -> None:
    rest = discord_of(srv.app).rest
    assert rest is not None
    srv.sim.rest.inject("/channels/9/messages", 403, body={"message": "Missing Access"})
    srv.sim.rest.inject("/channels/9/messages", 429, retry_after=30)
    assert (await srv.http.post(f"{API}/channels/9/messages", json={"content": "x"})).json() == {
        "message": "Missing Access"
    }
    assert (await srv.http.post(f"{API}/channels/9/messages", json={})).status_code == 429
    assert rest.invalid.count() == 2
    for _ in range(INVALID_SOFT_LIMIT - 2):
        rest.invalid.add()
    before = len(srv.sim.rest.requests)
    refused = await srv.http.get(f"{API}/users/@me")
    assert refused.status_code == 429
    assert refused.headers["content-type"] == PROBLEM
    assert 1 <= int(refused.headers["retry-after"]) <= 600
    assert "invalid-request budget" in refused.json()["detail"]
    app_id = srv.sim.config.application_id
    webhook = await srv.http.patch(f"{API}/webhooks/{app_id}/tok/messages/@original", json={})
    assert webhook.status_code == 429  # proxied token routes too: the rest is the server's
    assert len(srv.sim.rest.requests) == before
    # the server's own acknowledgements still go
    await rest.request("POST", "/interactions/1/tok/callback", {"type": 5})
    assert len(srv.sim.rest.requests) == before + 1


async def test_token_routes_go_without_the_bot_token(srv: Running) -> None:
    app_id = srv.sim.config.application_id
    callback = await srv.http.post(f"{API}/interactions/123/some-token/callback", json={"type": 5})
    assert callback.status_code == 204
    edit = await srv.http.patch(
        f"{API}/webhooks/{app_id}/some-token/messages/@original", json={"content": "done"}
    )
    assert edit.status_code == 200 and edit.json()["content"] == "done"
    for request in srv.sim.rest.find(None, "/interactions/*") + srv.sim.rest.find(
        None, "/webhooks/*"
    ):
        assert "authorization" not in request.headers
    no_auth_token_reached_discord(srv)


async def test_paths_that_leave_the_api_are_refused(srv: Running) -> None:
    before = len(srv.sim.rest.requests)  # the gateway's own GET /gateway/bot
    # httpx would resolve literal dot segments itself: these are the encoded ones
    for path in (f"{API}/", f"{API}/channels/%2e%2e/gateway", f"{API}/%2E/users/@me"):
        answer = await srv.http.get(path)
        assert answer.status_code == 404, path
    assert len(srv.sim.rest.requests) == before


async def test_an_upload_is_streamed_through_a_spool_file_and_reaches_discord_whole(
    tmp_path: Path,
) -> None:
    """A 6 MiB multipart upload, sent chunked: it reaches Discord byte for byte, with its
    length, and the server never held it whole (spooled to a file past 1 MiB)."""
    async with running_app(tmp_path, wait_ready=False) as srv:
        boundary = "XyZ"
        payload = bytes(range(256)) * (6 * 4096)  # 6 MiB, every byte value
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="files[0]"; '
                f'filename="draft.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'
            ).encode()
            + payload
            + f"\r\n--{boundary}--\r\n".encode()
        )

        async def chunks() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 100_000):
                yield body[start : start + 100_000]

        spooled: list[int] = []
        real_write = SpooledBody.write

        def counting(self: SpooledBody, chunk: bytes) -> None:
            spooled.append(len(chunk))
            real_write(self, chunk)

        SpooledBody.write = counting  # type: ignore[method-assign]
        try:
            answer = await srv.http.post(
                f"{API}/channels/7/messages",
                content=chunks(),
                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            )
        finally:
            SpooledBody.write = real_write  # type: ignore[method-assign]
        (sent,) = srv.sim.rest.find("POST", "/channels/7/messages")
        assert sent.body == body  # whole, in order
        assert sent.headers["content-length"] == str(len(body))
        assert sent.headers["content-type"] == f"multipart/form-data; boundary={boundary}"
        assert sum(spooled) == len(body)  # every byte went through the spool file
        assert answer.status_code < 500, answer.text


async def test_a_spooled_upload_is_sent_again_whole_after_a_502(tmp_path: Path) -> None:
    async with running_app(tmp_path, wait_ready=False) as srv:
        srv.sim.rest.inject("/channels/8/messages", 502, times=1)
        body = b"--b\r\n" + b"z" * (3 * 1024 * 1024) + b"\r\n--b--\r\n"
        answer = await srv.http.post(
            f"{API}/channels/8/messages",
            content=body,
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )
        first, second = srv.sim.rest.find("POST", "/channels/8/messages")
        assert first.status == 502
        assert first.body == body and second.body == body  # the retry read the spool again
        assert answer.status_code == second.status
