"""The credential settings (CONTRACT.md, "Credentials and limits"): token lists, the view-key
secret, PROXY_TOKEN, PROXY_ALLOW, METRICS_TOKEN, FORWARD_LEGACY_AUTH."""

from __future__ import annotations

import pytest

from asgi_app.proxy_allow import ProxyAllow
from asgi_app.settings import Settings, SettingsError, load_settings

A = "a" * 40
B = "b" * 33
PROD = {"BOT_TOKEN": "bot", "AUTH_TOKEN": A, "ORIGIN_URL": "https://league.example"}


def load(**env: str) -> Settings:
    return load_settings(PROD | env, None)


def problems(**env: str) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load(**env)
    return caught.value.problems


def test_auth_token_list_first_signs_all_accepted() -> None:
    s = load(AUTH_TOKEN=f" {B} , {A}")
    assert s.auth_token.get() == B
    assert s.auth_token.all() == (B, A)
    assert s.view_secrets == (B, A)  # without VIEW_KEY_SECRET, AUTH_TOKEN keys the views
    assert A not in repr(s) and B not in repr(s)


def test_each_listed_token_is_checked_at_its_index() -> None:
    assert problems(AUTH_TOKEN=f"{A},short,") == [
        "AUTH_TOKEN.1: must be at least 32 characters long",
        "AUTH_TOKEN.2: must not have an empty entry",
    ]
    assert problems(AUTH_TOKEN="short") == ["AUTH_TOKEN: must be at least 32 characters long"]


def test_other_secrets_are_lists_of_32_characters_too() -> None:
    found = problems(VIEW_KEY_SECRET="v", PROXY_TOKEN="p", METRICS_TOKEN="m")
    assert found == [
        f"{name}: must be at least 32 characters long"
        for name in ("VIEW_KEY_SECRET", "PROXY_TOKEN", "METRICS_TOKEN")
    ]
    s = load(VIEW_KEY_SECRET=f"{B},{A}", PROXY_TOKEN=B, METRICS_TOKEN=A)
    assert s.view_secrets == (B, A)
    assert s.proxy_token is not None and s.proxy_token.all() == (B,)
    assert s.metrics_token is not None and s.metrics_token.get() == A
    assert {A, B} <= set(s.secret_values())


def test_legacy_auth_is_off_unless_asked() -> None:
    assert load().forward_legacy_auth is False
    assert load(FORWARD_LEGACY_AUTH="true").forward_legacy_auth is True
    assert problems(FORWARD_LEGACY_AUTH="maybe")[0].startswith("FORWARD_LEGACY_AUTH:")


def test_proxy_allow_problems_at_their_index() -> None:
    found = problems(PROXY_ALLOW='["GET /users/@me", "FETCH /x", 3, "GET /a/**/b", "GET nope"]')
    assert [p.split(":")[0] for p in found] == [
        "PROXY_ALLOW.1",
        "PROXY_ALLOW.2",
        "PROXY_ALLOW.3",
        "PROXY_ALLOW.4",
    ]
    assert problems(PROXY_ALLOW="{not json") == [
        'PROXY_ALLOW: must be a JSON list of "METHOD /path" patterns'
    ]
    assert load().proxy_allow is None


def allow(*patterns: str) -> ProxyAllow:
    s = load(PROXY_ALLOW="[" + ",".join(f'"{p}"' for p in patterns) + "]")
    assert s.proxy_allow is not None
    return s.proxy_allow


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/users/@me", True),
        ("HEAD", "/users/@me", True),
        ("POST", "/users/@me", False),
        ("GET", "/users/@me/guilds", False),
        ("GET", "/channels/1/messages/2", True),
        ("GET", "/channels/1/messages", False),
        ("GET", "/channels/1/messages/2/reactions", False),
        ("PATCH", "/webhooks/1/tok/messages/@original", True),
        ("PATCH", "/webhooks", False),  # `**` is one segment or more
        ("DELETE", "/guilds/1/members/2", True),
        ("PUT", "/guilds/1/members/2", True),
        ("DELETE", "/guilds/1", False),
    ],
)
def test_proxy_allow_matching(method: str, path: str, allowed: bool) -> None:
    rules = allow(
        "GET /users/@me",
        "GET /channels/{channel_id}/messages/*",
        "PATCH /webhooks/**",
        "* /guilds/*/members/{user_id}",
    )
    assert rules.allows(method, path) is allowed
