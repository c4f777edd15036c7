"""Each secret opens one door (CONTRACT.md, "Credentials and limits"), on the assembled app:
AUTH_TOKEN lists, VIEW_KEY_SECRET, PROXY_TOKEN, PROXY_ALLOW and METRICS_TOKEN."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import socketio

from asgi_app.logs import MASK
from asgi_app.overlay.state import view_key
from tests.overlay.helpers import connected
from tests.support.harness.app import AUTH_TOKEN, running_app
from tests.support.harness.process import ROOT, clean_env

NEW_TOKEN = "new-auth-token-abcdefghijklmnopqrstuvwxyz"
VIEW_SECRET = "view-key-secret-0123456789-abcdefghijkl"
PROXY_TOKEN = "proxy-token-0123456789-abcdefghijklmnopq"
METRICS_TOKEN = "metrics-token-0123456789-abcdefghijklmno"
STATE = {
    "blue": {"score": 1, "name": "Blue", "primaryColor": "#00f", "secondaryColor": "#fff",
             "logoUrl": "https://x.example/b.png"},
    "red": {"score": 0, "name": "Red", "primaryColor": "#f00", "secondaryColor": "#fff",
            "logoUrl": "https://x.example/r.png"},
    "maxScore": 2,
}  # fmt: skip


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": token}


async def test_every_auth_token_of_the_list_is_accepted(tmp_path: Path) -> None:
    async with running_app(
        tmp_path, wait_ready=False, AUTH_TOKEN=f"{NEW_TOKEN}, {AUTH_TOKEN}"
    ) as srv:
        for token in (NEW_TOKEN, AUTH_TOKEN, f"Bearer {NEW_TOKEN}"):
            r = await srv.http.get("/overlay", headers=_auth(token))
            assert r.status_code == 200, token
        r = await srv.http.get("/overlay", headers=_auth(NEW_TOKEN + "x"))
        assert r.status_code == 401
        assert r.headers["content-type"] == "application/problem+json"


async def test_an_obs_view_key_survives_an_auth_token_rotation(tmp_path: Path) -> None:
    """With VIEW_KEY_SECRET the OBS URL's key does not depend on AUTH_TOKEN: after AUTH_TOKEN
    changes (a restart with the new list), the same key still receives every update."""
    key = view_key(VIEW_SECRET, "finals")
    for tokens in (AUTH_TOKEN, NEW_TOKEN):
        async with running_app(
            tmp_path, wait_ready=False, AUTH_TOKEN=tokens, VIEW_KEY_SECRET=VIEW_SECRET
        ) as srv:
            async with connected(srv.url, auth={"overlay": "finals", "key": key}) as page:
                await page.next_state()  # the state on connect
                r = await srv.http.post("/overlay/finals", json=STATE, headers=_auth(tokens))
                assert r.status_code == 200 and r.json()["clients"] == 1
                assert (await page.next_state())["blue"]["score"] == 1
            # a key made with AUTH_TOKEN opens nothing once VIEW_KEY_SECRET is set
            with pytest.raises(socketio.exceptions.ConnectionError):
                async with connected(
                    srv.url, auth={"overlay": "finals", "key": view_key(tokens, "finals")}
                ):
                    pass


async def test_without_view_key_secret_every_auth_token_keys_the_view(tmp_path: Path) -> None:
    """While AUTH_TOKEN lists the old and the new token, OBS URLs of either keep working."""
    async with running_app(
        tmp_path, wait_ready=False, AUTH_TOKEN=f"{NEW_TOKEN},{AUTH_TOKEN}"
    ) as srv:
        for secret in (NEW_TOKEN, AUTH_TOKEN):
            auth = {"overlay": "default", "key": view_key(secret, "default")}
            async with connected(srv.url, auth=auth) as page:
                assert "blue" in await page.next_state()
        r = await srv.http.get("/dev/overlay-link", headers=srv.auth)
        assert r.status_code == 404  # production: no console; the URL tool is the CLI


async def test_proxy_token_alone_opens_the_proxy(tmp_path: Path) -> None:
    async with running_app(tmp_path, wait_ready=False, PROXY_TOKEN=PROXY_TOKEN) as srv:
        sent_before = len(srv.sim.rest.requests)
        r = await srv.http.get("/discord/api/v10/users/@me", headers=_auth(AUTH_TOKEN))
        assert r.status_code == 401  # AUTH_TOKEN no longer opens the proxy
        assert len(srv.sim.rest.requests) == sent_before
        r = await srv.http.get("/discord/api/v10/users/@me", headers=_auth(PROXY_TOKEN))
        assert r.status_code == 200 and "id" in r.json()
        # and PROXY_TOKEN opens nothing else
        for path in ("/overlay", "/discord", "/metrics", "/health/detailed"):
            assert (await srv.http.get(path, headers=_auth(PROXY_TOKEN))).status_code == 401
        assert (await srv.http.get("/discord", headers=_auth(AUTH_TOKEN))).status_code == 200


async def test_proxy_allow_refuses_an_unlisted_route_before_any_discord_call(
    tmp_path: Path,
) -> None:
    allow = '["GET /users/@me", "GET /channels/{channel_id}/messages/*", "PATCH /webhooks/**"]'
    async with running_app(tmp_path, wait_ready=False, PROXY_ALLOW=allow) as srv:

        def proxied() -> list[tuple[str, str]]:
            """What reached Discord on the routes below (the server's own start-up calls,
            GET /gateway/bot and the like, may come meanwhile: not counted)."""
            paths = ("/guilds/81384788765712384", "/users/@me", "/channels/1/messages")
            return [(r.method, r.path) for r in srv.sim.rest.requests if r.path in paths]

        r = await srv.http.delete("/discord/api/v10/guilds/81384788765712384")
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"
        assert "DELETE /guilds/81384788765712384" in r.json()["detail"]
        r = await srv.http.post("/discord/api/v10/users/@me", json={})  # listed as GET only
        assert r.status_code == 403
        r = await srv.http.get("/discord/api/v10/channels/1/messages")  # `*` is one segment
        assert r.status_code == 403
        assert proxied() == []  # none of them reached Discord
        r = await srv.http.get("/discord/api/v10/users/@me")
        assert r.status_code == 200
        r = await srv.http.head("/discord/api/v10/users/@me")  # HEAD is checked as GET
        assert r.status_code == 200
        assert proxied() == [("GET", "/users/@me")] * 2


async def test_metrics_token_opens_metrics_and_nothing_else(tmp_path: Path) -> None:
    async with running_app(tmp_path, wait_ready=False, METRICS_TOKEN=METRICS_TOKEN) as srv:
        scrape = await srv.http.get("/metrics", headers=_auth(METRICS_TOKEN))
        assert scrape.status_code == 200 and "interaction" in scrape.text
        bearer = await srv.http.get("/metrics", headers=_auth(f"Bearer {METRICS_TOKEN}"))
        assert bearer.status_code == 200
        assert (await srv.http.get("/metrics", headers=_auth(AUTH_TOKEN))).status_code == 200
        for method, path in (
            ("GET", "/overlay"),
            ("POST", "/overlay"),
            ("GET", "/discord"),
            ("POST", "/discord"),
            ("GET", "/health/detailed"),
            ("GET", "/analytics/internal"),
            ("GET", "/discord/api/v10/users/@me"),
        ):
            r = await srv.http.request(method, path, headers=_auth(METRICS_TOKEN), json={})
            assert r.status_code == 401, (method, path)


def test_every_new_secret_is_masked_in_the_logs(tmp_path: Path) -> None:
    """The settings as the server builds them (build_from_environment configures logging
    with every secret): a line that carries any of them is masked, each token of a list too."""
    env = {
        **clean_env(),
        "APP_ENV": "production",
        "BOT_TOKEN": "bot-token-for-the-log-test",
        "AUTH_TOKEN": f"{NEW_TOKEN},{AUTH_TOKEN}",
        "ORIGIN_URL": "https://app.example.com",
        "VIEW_KEY_SECRET": VIEW_SECRET,
        "PROXY_TOKEN": PROXY_TOKEN,
        "METRICS_TOKEN": METRICS_TOKEN,
        "PROXY_ALLOW": '["GET /users/@me"]',
        "STATE_DIR": str(tmp_path),
        "LOG_FORMAT": "json",
    }
    values = (NEW_TOKEN, AUTH_TOKEN, VIEW_SECRET, PROXY_TOKEN, METRICS_TOKEN)
    program = (
        "import logging\n"
        "from asgi_app.factory import build_from_environment\n"
        "app = build_from_environment(env_file=None)\n"
        f"logging.getLogger('asgi_app').warning('secrets %s', {list(values)!r})\n"
        "print(repr(app.services.settings))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert "secrets" in done.stderr
    for value in values:
        assert value not in done.stderr and value not in done.stdout
    assert done.stderr.count(MASK) >= len(values)
