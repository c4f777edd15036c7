"""Settings: every problem at once by name, secrets never printed, .env, dev defaults."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from asgi_app.settings import (
    DEFAULT_INTERACTION_ERROR_MESSAGE,
    Secret,
    Settings,
    SettingsError,
    load_settings,
    load_settings_or_exit,
)
from tests.support.harness.logcapture import note_settings

BOT = "bot-token-MARKER-0123456789"
AUTH = "auth-token-MARKER-abcdefghijklmnopqrstuvwxyz"
PROD = {"BOT_TOKEN": BOT, "AUTH_TOKEN": AUTH, "ORIGIN_URL": "https://league.example.com"}


def load(env: dict[str, str], env_file: Path | None = None) -> Settings:
    settings = load_settings(env, env_file, token_factory=lambda: "generated-" + "x" * 32)
    return note_settings(settings)


def problems(env: dict[str, str], env_file: Path | None = None) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load(env, env_file)
    return caught.value.problems


def test_production_defaults() -> None:
    s = load(PROD)
    assert s.app_env == "production" and not s.is_development and not s.use_simulator
    assert s.bot_token is not None and s.bot_token.get() == BOT
    assert s.auth_token.get() == AUTH
    assert s.origin_url == "https://league.example.com"
    assert s.forward_url == "https://league.example.com/api/discord/interactions"
    assert s.discord_api_base == "https://discord.com/api/v10"
    assert s.gateway_intents == 5
    assert s.gateway_compression == "zlib-stream"
    assert s.shard_count is None and s.shard_ids is None
    assert s.audit_log_channel is None and s.application_id is None
    assert s.state_dir == Path("./var")
    assert s.redis_url is None
    assert s.body_limit_bytes == 102400
    assert s.rate_limit_per_minute == 100
    assert s.forward_timeout_seconds == 10.0
    assert s.interaction_error_message == DEFAULT_INTERACTION_ERROR_MESSAGE
    assert len(s.interaction_error_message) <= 2000
    assert s.log_level == "INFO" and s.log_format == "json"
    assert s.forwarded_allow_ips == ("127.0.0.1",)
    assert s.port == 8000
    assert s.dev_defaults == ()


def test_production_requires_the_secrets_and_lists_them_together() -> None:
    assert problems({}) == [
        "BOT_TOKEN: required in production",
        "AUTH_TOKEN: required in production",
        "ORIGIN_URL: required in production",
    ]


def test_several_bad_variables_reported_together_by_name() -> None:
    env = {
        **PROD,
        "APP_ENV": "staging",
        "AUTH_TOKEN": "too-short",
        "ORIGIN_URL": "https://league.example.com/app",
        "GATEWAY_INTENTS": "five",
        "GATEWAY_COMPRESSION": "gzip",
        "BODY_LIMIT_BYTES": "0",
        "FORWARD_TIMEOUT_SECONDS": "0",
        "LOG_LEVEL": "loud",
        "LOG_FORMAT": "xml",
        "PORT": "70000",
        "AUDIT_LOG_CHANNEL": "#general",
        "APPLICATION_ID": "abc",
        "REDIS_URL": "http://user:pw@cache",
        "INTERACTION_ERROR_MESSAGE": "x" * 2001,
        "FORWARDED_ALLOW_IPS": "10.0.0.1, not-an-ip",
        "DISCORD_API_BASE": "ftp://discord",
        "FORWARD_URL": "relative/path",
    }
    found = problems(env)
    names = [problem.split(":", 1)[0] for problem in found]
    assert sorted(names) == sorted(
        [
            "APP_ENV",
            "AUTH_TOKEN",
            "ORIGIN_URL",
            "GATEWAY_INTENTS",
            "GATEWAY_COMPRESSION",
            "BODY_LIMIT_BYTES",
            "FORWARD_TIMEOUT_SECONDS",
            "LOG_LEVEL",
            "LOG_FORMAT",
            "PORT",
            "AUDIT_LOG_CHANNEL",
            "APPLICATION_ID",
            "REDIS_URL",
            "INTERACTION_ERROR_MESSAGE",
            "FORWARDED_ALLOW_IPS",
            "DISCORD_API_BASE",
            "FORWARD_URL",
        ]
    )
    assert "AUTH_TOKEN: must be at least 32 characters long" in found
    assert "GATEWAY_INTENTS: expected integer" in found


def test_secrets_never_printed() -> None:
    marker = "MARKER"
    env = {
        "BOT_TOKEN": BOT,
        "AUTH_TOKEN": "short-MARKER",
        "ORIGIN_URL": "https://MARKER.example.com/path",
        "REDIS_URL": "redis//:MARKER@host",
        "GATEWAY_INTENTS": "MARKER",
    }
    with pytest.raises(SettingsError) as caught:
        load(env)
    text = str(caught.value)
    assert marker not in text and marker not in repr(caught.value)
    assert "AUTH_TOKEN" in text and "REDIS_URL" in text and "GATEWAY_INTENTS" in text

    good = load({**PROD, "REDIS_URL": "rediss://:pw-MARKER@cache:6380/0"})
    for shown in (repr(good), str(good), repr(good.bot_token), str(good.auth_token)):
        assert marker not in shown
    assert str(good.auth_token) == "**********"
    assert good.redis_url is not None and good.redis_url.get().endswith("@cache:6380/0")
    assert set(good.secret_values()) == {BOT, AUTH, "rediss://:pw-MARKER@cache:6380/0", "pw-MARKER"}


def test_load_settings_or_exit_prints_problems_and_exits_3(tmp_path: Path) -> None:
    stream = io.StringIO()
    with pytest.raises(SystemExit) as caught:
        load_settings_or_exit({"AUTH_TOKEN": "MARKER"}, tmp_path / "none.env", stream=stream)
    assert caught.value.code == 3  # gunicorn's WORKER_BOOT_ERROR: its arbiter halts
    out = stream.getvalue()
    assert "BOT_TOKEN: required in production" in out and "AUTH_TOKEN" in out
    assert "MARKER" not in out
    assert note_settings(load_settings_or_exit(PROD, None)).auth_token.get() == AUTH


def test_secret_equality_and_truth() -> None:
    assert Secret("a") == Secret("a") and Secret("a") != Secret("b")
    assert not Secret("") and Secret("x")
    assert Secret("a").__eq__("a") is NotImplemented


def test_development_defaults() -> None:
    s = load({"APP_ENV": "development"})
    assert s.is_development and s.use_simulator
    assert s.bot_token is None
    assert s.auth_token.get() == "generated-" + "x" * 32
    assert s.origin_url == "http://127.0.0.1:8000"
    assert s.forward_url == "http://127.0.0.1:8000/api/discord/interactions"
    assert s.dev_defaults == ("AUTH_TOKEN", "ORIGIN_URL")
    assert s.log_format == "text"
    assert "generated" not in repr(s)


def test_development_with_a_bot_token_and_own_values() -> None:
    s = load({"APP_ENV": "development", **PROD, "PORT": "9000", "LOG_FORMAT": "json"})
    assert not s.use_simulator and s.dev_defaults == ()
    assert s.log_format == "json"
    assert load({"APP_ENV": "development", "PORT": "9000"}).origin_url == "http://127.0.0.1:9000"
    assert load({"APP_ENV": "development", "AUTH_TOKEN": "a" * 32}).dev_defaults == ("ORIGIN_URL",)
    assert problems({"APP_ENV": "development", "AUTH_TOKEN": "short"}) == [
        "AUTH_TOKEN: must be at least 32 characters long"
    ]


def test_default_token_factory_is_random() -> None:
    one = note_settings(load_settings({"APP_ENV": "development"}, None))
    two = note_settings(load_settings({"APP_ENV": "development"}, None))
    assert len(one.auth_token.get()) >= 32
    assert one.auth_token != two.auth_token


def test_coercion_of_numbers_and_levels() -> None:
    s = load(
        {
            **PROD,
            "GATEWAY_INTENTS": "0",
            "BODY_LIMIT_BYTES": " 2048 ",
            "RATE_LIMIT_PER_MINUTE": "5",
            "FORWARD_TIMEOUT_SECONDS": "2.5",
            "LOG_LEVEL": "debug",
            "PORT": "8080",
            "GATEWAY_COMPRESSION": "zstd-stream",
            "APPLICATION_ID": "123456789012345678",
            "AUDIT_LOG_CHANNEL": "987654321098765432",
        }
    )
    assert s.gateway_intents == 0
    assert s.body_limit_bytes == 2048
    assert s.rate_limit_per_minute == 5
    assert s.forward_timeout_seconds == 2.5
    assert s.log_level == "DEBUG"
    assert s.port == 8080
    assert s.gateway_compression == "zstd-stream"
    assert s.application_id == "123456789012345678"
    assert s.audit_log_channel == "987654321098765432"


def test_empty_values_are_unset() -> None:
    s = load({**PROD, "GATEWAY_INTENTS": "", "LOG_LEVEL": "", "REDIS_URL": "", "SHARD_IDS": " "})
    assert s.gateway_intents == 5 and s.log_level == "INFO" and s.redis_url is None
    assert s.shard_ids is None
    assert problems({**PROD, "BOT_TOKEN": ""}) == ["BOT_TOKEN: required in production"]


def test_origin_and_urls_are_normalised() -> None:
    s = load({**PROD, "ORIGIN_URL": "HTTPS://League.Example.com:8443/"})
    assert s.origin_url == "https://league.example.com:8443"
    s = load(
        {
            **PROD,
            "FORWARD_URL": "https://main:3000/hooks/",
            "DISCORD_API_BASE": "http://127.0.0.1:9/api/v10/",
        }
    )
    assert s.forward_url == "https://main:3000/hooks"
    assert s.discord_api_base == "http://127.0.0.1:9/api/v10"
    # plain http on a host that is not loopback takes ALLOW_INSECURE_URLS in production
    s = load({**PROD, "FORWARD_URL": "http://main:3000/hooks/", "ALLOW_INSECURE_URLS": "true"})
    assert s.forward_url == "http://main:3000/hooks"
    for bad in (
        "league.example.com",
        "ftp://x.com",
        "https://x.com?a=1",
        "https://u@x.com",
        "https://x.com:99999",
    ):
        assert problems({**PROD, "ORIGIN_URL": bad}) == [
            "ORIGIN_URL: must be an origin: http(s)://host[:port], without a path"
        ], bad


def test_shards() -> None:
    s = load({**PROD, "SHARD_COUNT": "4", "SHARD_IDS": "0, 1,3"})
    assert s.shard_count == 4 and s.shard_ids == (0, 1, 3)
    assert load({**PROD, "SHARD_COUNT": "2"}).shard_ids is None
    assert problems({**PROD, "SHARD_IDS": "0,1"}) == ["SHARD_IDS: requires SHARD_COUNT"]
    assert problems({**PROD, "SHARD_COUNT": "2", "SHARD_IDS": "0,2"}) == [
        "SHARD_IDS: each shard number must be less than SHARD_COUNT"
    ]
    assert problems({**PROD, "SHARD_COUNT": "2", "SHARD_IDS": "1,1"}) == [
        "SHARD_IDS: a shard number is listed twice"
    ]
    assert problems({**PROD, "SHARD_COUNT": "0", "SHARD_IDS": "a"}) == [
        "SHARD_COUNT: must be at least 1",
        "SHARD_IDS: must be a comma-separated list of shard numbers, or auto",
    ]


def test_forwarded_allow_ips() -> None:
    """The proxies whose X-Forwarded-For is believed: FORWARDED_ALLOW_IPS, the one name that
    uvicorn and gunicorn.conf.py read (TRUSTED_PROXIES was read by nothing and is gone)."""
    assert load({**PROD, "FORWARDED_ALLOW_IPS": "10.0.0.0/8, ::1"}).forwarded_allow_ips == (
        "10.0.0.0/8",
        "::1",
    )
    assert load({**PROD, "FORWARDED_ALLOW_IPS": "*"}).forwarded_allow_ips == ("*",)
    assert not hasattr(load({**PROD, "TRUSTED_PROXIES": "10.0.0.1"}), "trusted_proxies")
    assert problems({**PROD, "FORWARDED_ALLOW_IPS": "proxy.local"}) == [
        "FORWARDED_ALLOW_IPS: must be a comma-separated list of IP addresses or networks"
    ]


def test_settings_are_frozen() -> None:
    s = load(PROD)
    with pytest.raises(AttributeError):
        s.port = 1  # type: ignore[misc]


INSECURE = (
    "must be https unless its host is a loopback address (127.0.0.0/8, ::1, localhost); "
    "ALLOW_INSECURE_URLS=true allows http"
)
PLAIN = {
    "ORIGIN_URL": "http://MARKER.example.com",
    "FORWARD_URL": "http://MARKER.example.com:3000/api/discord/interactions",
    "DISCORD_API_BASE": "http://MARKER-discord.example/api/v10",
}


@pytest.mark.parametrize("name", list(PLAIN))
def test_production_urls_must_be_https_and_the_problem_names_the_setting(name: str) -> None:
    assert problems({**PROD, name: PLAIN[name]}) == [f"{name}: {INSECURE}"]


def test_every_plain_http_url_is_listed_at_once_and_no_value_is_printed() -> None:
    stream = io.StringIO()
    with pytest.raises(SystemExit) as caught:
        load_settings_or_exit({**PROD, **PLAIN}, None, stream=stream)
    assert caught.value.code == 3
    out = stream.getvalue()
    for name in PLAIN:
        assert f"{name}: {INSECURE}" in out
    assert "MARKER" not in out


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:3000",
        "http://127.10.20.30:3000",
        "http://[::1]:3000",
        "http://localhost:3000",
        "http://LocalHost",
    ],
)
def test_plain_http_on_a_loopback_host_is_allowed(url: str) -> None:
    s = load({**PROD, "ORIGIN_URL": url, "FORWARD_URL": url + "/f", "DISCORD_API_BASE": url})
    assert s.origin_url == url.lower() and s.forward_url == url + "/f"
    assert s.allow_insecure_urls is False


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1.example.com",
        "http://localhost.example.com",
        "http://[::ffff:8.8.8.8]",
        "http://0.0.0.0:3000",
        "http://10.0.0.1",
    ],
)
def test_hosts_that_only_look_local_are_not_loopback(url: str) -> None:
    assert problems({**PROD, "FORWARD_URL": url}) == [f"FORWARD_URL: {INSECURE}"]


def test_allow_insecure_urls_allows_http_and_false_does_not() -> None:
    s = load({**PROD, **PLAIN, "ALLOW_INSECURE_URLS": "true"})
    assert s.allow_insecure_urls is True
    assert s.origin_url == "http://marker.example.com"
    assert s.discord_api_base == PLAIN["DISCORD_API_BASE"]
    assert len(problems({**PROD, **PLAIN, "ALLOW_INSECURE_URLS": "false"})) == 3
    assert problems({**PROD, "ALLOW_INSECURE_URLS": "maybe"}) == [
        "ALLOW_INSECURE_URLS: expected boolean"
    ]


def test_development_may_use_plain_http_anywhere() -> None:
    s = load({"APP_ENV": "development", **PLAIN})
    assert s.forward_url == PLAIN["FORWARD_URL"]
    assert s.discord_api_base == PLAIN["DISCORD_API_BASE"]


def test_the_default_forward_url_follows_an_insecure_origin_named_once() -> None:
    # FORWARD_URL unset: derived from ORIGIN_URL, whose problem is the one reported
    assert problems({**PROD, "ORIGIN_URL": PLAIN["ORIGIN_URL"]}) == [f"ORIGIN_URL: {INSECURE}"]
