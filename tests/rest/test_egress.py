"""An operator's outgoing proxy (HTTPS_PROXY / HTTP_PROXY / NO_PROXY) is used by the server's
client (gateway/rest/http_client.py) as httpx would use it: through a real tinyproxy with
credentials, https by a CONNECT tunnel (certificates still checked against the origin), http by
absolute-form requests."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from asgi_app.logs import MASK
from gateway.egress import parse_proxy, proxy_for
from gateway.rest.http_client import ClientOptions, OriginClient
from tests.rest.http_servers import (
    NO_CONTENT,
    Scripted,
    fixed,
    scripted,
    self_signed,
    serving,
)
from tests.support.harness.process import ROOT, clean_env
from tests.support.harness.server import free_port
from tests.support.tinyproxy import PASSWORD, clear_proxy_env, tinyproxy


def pool(base: str, **options: Any) -> OriginClient:
    return OriginClient.open(base, ClientOptions(max_connections=4, **options))


@pytest.fixture
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    clear_proxy_env(monkeypatch)
    return monkeypatch


def test_proxy_for_reads_the_environment_as_httpx_does(clean_proxy_env: pytest.MonkeyPatch) -> None:
    env = clean_proxy_env
    assert proxy_for("https://discord.com/api/v10") is None
    env.setenv("HTTPS_PROXY", "http://u%40x:p%3Aw@proxy.internal:3128")
    found = proxy_for("https://discord.com/api/v10")
    assert found is not None and (found.host, found.port) == ("proxy.internal", 3128)
    assert found.authorization == "Basic dUB4OnA6dw=="  # base64 of "u@x:p:w"
    assert "p%3Aw" not in repr(found) and "dUB4" not in repr(found)
    assert proxy_for("wss://gateway.discord.gg/?v=10") == found  # wss: the https proxy
    assert proxy_for("http://main-app.test/api") is None  # HTTP_PROXY unset
    env.setenv("ALL_PROXY", "proxy.other:8080")  # bare host:port, as curl reads it
    other = proxy_for("ws://127.0.0.1:9/")
    assert other is not None and (other.host, other.port, other.authorization) == (
        "proxy.other",
        8080,
        None,
    )
    env.setenv("NO_PROXY", "discord.com,127.0.0.1")
    assert proxy_for("https://discord.com/api") is None
    assert proxy_for("https://cdn.discord.com/x") is None  # a domain covers its subdomains
    assert proxy_for("ws://127.0.0.1:9/") is None
    assert proxy_for("https://example.test/") == found


def test_a_proxy_scheme_we_cannot_speak_is_refused_with_its_variable(
    clean_proxy_env: pytest.MonkeyPatch,
) -> None:
    clean_proxy_env.setenv("HTTPS_PROXY", "socks5://127.0.0.1:1080")
    with pytest.raises(ValueError, match="HTTPS_PROXY: only http:// proxies"):
        proxy_for("https://discord.com/api")
    with pytest.raises(ValueError, match="HTTPS_PROXY"):
        pool("https://discord.com/api")
    with pytest.raises(ValueError, match="X_PROXY"):
        parse_proxy("https://proxy:443", "X_PROXY")


async def test_https_through_the_proxy_tunnel_with_credentials(
    tmp_path: Path, clean_proxy_env: pytest.MonkeyPatch
) -> None:
    server_context, cert_path = self_signed(tmp_path)
    handler = Scripted(fixed(NO_CONTENT))
    trust = ssl.create_default_context(cafile=str(cert_path))
    with tinyproxy(tmp_path) as proxy:
        clean_proxy_env.setenv("HTTPS_PROXY", proxy.url())
        async with serving(handler, tls=server_context) as port:
            tunnelled = pool(f"https://127.0.0.1:{port}/api", ssl_context=trust)
            assert tunnelled.proxy is not None and tunnelled.proxy.port == proxy.port
            for _ in range(3):
                answer = await tunnelled.request("POST", "/x", {"A": "1"}, b"{}")
                assert answer.status == 204
            # the tunnel is kept alive like a direct connection
            assert handler.connections == 1
            await tunnelled.aclose()
            # the origin saw the requests as sent directly (no proxy credentials in them)
            assert len(handler.requests) == 3
            assert handler.requests[0].startswith(b"POST /api/x HTTP/1.1\r\n")
            assert not any(b"Proxy-Authorization" in r for r in handler.requests)
            assert proxy.requests() == [f"CONNECT 127.0.0.1:{port} HTTP/1.1"]

            # inside the tunnel the origin's certificate is still checked
            untrusting = pool(f"https://127.0.0.1:{port}/api")
            with pytest.raises(httpx.ConnectError, match="certificate"):
                await untrusting.request("POST", "/x", {}, b"{}")
            await untrusting.aclose()

            # wrong credentials: the proxy's refusal, named, not a TLS error
            clean_proxy_env.setenv("HTTPS_PROXY", proxy.url(password="wrong"))
            refused = pool(f"https://127.0.0.1:{port}/api", ssl_context=trust)
            with pytest.raises(httpx.ProxyError, match=r"answered 40\d to CONNECT"):
                await refused.request("POST", "/x", {}, b"{}")
            await refused.aclose()
            assert len(handler.requests) == 3


async def test_http_through_the_proxy_in_absolute_form(
    tmp_path: Path, clean_proxy_env: pytest.MonkeyPatch
) -> None:
    with tinyproxy(tmp_path) as proxy:
        clean_proxy_env.setenv("HTTP_PROXY", proxy.url())
        async with scripted(fixed(NO_CONTENT)) as (handler, base):
            absolute = pool(base)
            for _ in range(2):
                answer = await absolute.request("POST", "/interactions", {}, b'{"a":1}')
                assert answer.status == 204
            await absolute.aclose()
            port = base.split(":")[2].split("/")[0]
            target = f"POST http://127.0.0.1:{port}/api/v10/interactions HTTP/1.1"
            assert proxy.requests() == [target, target]
            assert len(handler.requests) == 2 and handler.requests[0].endswith(b'{"a":1}')
            # one request per connection to the proxy (see gateway/rest/http_client.py): the
            # proxy's credentials never reach the origin
            assert PASSWORD.encode() not in b"".join(handler.requests)
            assert b"proxy-authorization" not in b"".join(handler.requests).lower()

            clean_proxy_env.setenv("NO_PROXY", "127.0.0.1")
            direct = pool(base)
            assert direct.proxy is None
            assert (await direct.request("POST", "/x", {}, b"")).status == 204
            await direct.aclose()
            assert len(proxy.requests()) == 2 and len(handler.requests) == 3


def test_proxy_credentials_never_reach_a_log(tmp_path: Path) -> None:
    """The assembled app (build_from_environment) masks the proxy's password, as written and
    decoded, and its Basic value, from every logger."""
    password = "pa%24s-w0rd-of-the-proxy"  # "pa$s-w0rd-of-the-proxy"
    program = f"""
import logging
from asgi_app.factory import build_from_environment
build_from_environment(env_file=None)
log = logging.getLogger("somelib")
log.warning("proxy http://ops:{password}@proxy:3128")
log.warning("decoded pa$s-w0rd-of-the-proxy")
log.warning("header Proxy-Authorization: Basic b3BzOnBhJHMtdzByZC1vZi10aGUtcHJveHk=")
"""
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env=clean_env(
            APP_ENV="development",
            STATE_DIR=str(tmp_path),
            HTTPS_PROXY=f"http://ops:{password}@proxy.internal:3128",
            NO_PROXY="127.0.0.1,localhost",
        ),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [line for line in done.stderr.splitlines() if "somelib" in line]
    assert len(lines) == 3, done.stderr
    for secret in (password, "pa$s-w0rd-of-the-proxy", "b3BzOnBhJHMtdzByZC1vZi10aGUtcHJveHk="):
        assert secret not in done.stderr
    assert all(MASK in line for line in lines)


async def test_a_proxy_that_never_answers_connect_times_out_and_is_let_go(
    clean_proxy_env: pytest.MonkeyPatch,
) -> None:
    closed = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # reads the CONNECT, answers nothing, until our side closes
        closed.set()
        writer.close()

    async with serving(silent) as port:
        clean_proxy_env.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
        unanswered = pool("https://discord.test/api", connect_timeout=0.3)
        with pytest.raises(httpx.ConnectTimeout, match=r"via 127\.0\.0\.1"):
            await unanswered.request("GET", "/x", {})
        await asyncio.wait_for(closed.wait(), 5)  # the socket to the proxy was closed
        await unanswered.aclose()


async def test_a_proxy_nobody_listens_on_is_a_connect_error_naming_it(
    clean_proxy_env: pytest.MonkeyPatch,
) -> None:
    """Not a ConnectTimeout (httpx-aiohttp's own name for it): nothing was sent, at once."""
    port = free_port()
    clean_proxy_env.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
    unreachable = pool("https://discord.test/api")
    with pytest.raises(httpx.ConnectError, match=rf"via 127\.0\.0\.1:{port}: the proxy cannot"):
        await unreachable.request("GET", "/x", {})
    await unreachable.aclose()
