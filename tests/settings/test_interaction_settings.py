"""The interaction-path settings of CONTRACT.md's "New settings": validated, typed, masked."""

from __future__ import annotations

import orjson
import pytest

from asgi_app.settings import InteractionPolicy, Secret, Settings, SettingsError, load_settings
from tests.support.harness.logcapture import note_settings

PROD = {"BOT_TOKEN": "bot", "AUTH_TOKEN": "a" * 40, "ORIGIN_URL": "https://league.example"}
KEY = "0123456789abcdef" * 4


def load(env: dict[str, str]) -> Settings:
    return note_settings(load_settings({**PROD, **env}, None))


def problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load(env)
    return caught.value.problems


def test_defaults() -> None:
    s = load({})
    assert s.interaction_response == "defer"
    assert s.response_window_ms == 1500
    assert s.interaction_policy == InteractionPolicy()
    assert dict(s.interaction_policy.commands) == {} == dict(s.interaction_policy.components)
    assert "too long" in s.interaction_late_message
    assert s.forward_signing_key is None and s.discord_public_key is None
    assert s.proxy_body_limit_bytes == 26_214_400
    assert s.proxy_max_wait_seconds == 10.0
    assert s.forward_max_in_flight == 1000


def test_values_are_typed() -> None:
    s = load(
        {
            "INTERACTION_RESPONSE": "respond",
            "RESPONSE_WINDOW_MS": "100",
            "INTERACTION_LATE_MESSAGE": "late!",
            "DISCORD_PUBLIC_KEY": KEY.upper(),
            "PROXY_BODY_LIMIT_BYTES": "1024",
            "PROXY_MAX_WAIT_SECONDS": "0.5",
            "FORWARD_MAX_IN_FLIGHT": "1",
        }
    )
    assert s.interaction_response == "respond" and s.response_window_ms == 100
    assert s.interaction_late_message == "late!"
    assert s.discord_public_key == KEY
    assert s.proxy_body_limit_bytes == 1024 and s.proxy_max_wait_seconds == 0.5
    assert s.forward_max_in_flight == 1
    assert load({"INTERACTION_RESPONSE": "defer-ephemeral"}).interaction_response == (
        "defer-ephemeral"
    )
    assert load({"RESPONSE_WINDOW_MS": "2500"}).response_window_ms == 2500


def test_bad_values_named_together() -> None:
    found = problems(
        {
            "INTERACTION_RESPONSE": "later",
            "RESPONSE_WINDOW_MS": "99",
            "INTERACTION_LATE_MESSAGE": "x" * 2001,
            "FORWARD_SIGNING_KEY": "ab" * 31,
            "DISCORD_PUBLIC_KEY": "z" * 64,
            "PROXY_BODY_LIMIT_BYTES": "0",
            "PROXY_MAX_WAIT_SECONDS": "-1",
            "FORWARD_MAX_IN_FLIGHT": "0",
        }
    )
    assert [p.split(":", 1)[0] for p in found] == [
        "INTERACTION_RESPONSE",
        "RESPONSE_WINDOW_MS",
        "INTERACTION_LATE_MESSAGE",
        "FORWARD_SIGNING_KEY",
        "DISCORD_PUBLIC_KEY",
        "PROXY_BODY_LIMIT_BYTES",
        "PROXY_MAX_WAIT_SECONDS",
        "FORWARD_MAX_IN_FLIGHT",
    ]
    assert "FORWARD_SIGNING_KEY: must be 64 hexadecimal characters" in found
    assert problems({"RESPONSE_WINDOW_MS": "2501"}) == ["RESPONSE_WINDOW_MS: must be at most 2500"]


def test_signing_key_is_a_secret() -> None:
    s = load({"FORWARD_SIGNING_KEY": KEY})
    assert isinstance(s.forward_signing_key, Secret)
    assert s.forward_signing_key.get() == KEY
    assert KEY not in repr(s) and KEY not in str(s)
    assert KEY in s.secret_values()
    with pytest.raises(SettingsError) as caught:
        load({"FORWARD_SIGNING_KEY": KEY + "0"})
    assert KEY not in str(caught.value)


def test_policy_is_parsed() -> None:
    policy = {
        "commands": {"trade": "respond", "mypicks": "defer-ephemeral"},
        "components": {"trade:": "respond"},
    }
    s = load({"INTERACTION_POLICY": orjson.dumps(policy).decode()})
    assert dict(s.interaction_policy.commands) == policy["commands"]
    assert dict(s.interaction_policy.components) == policy["components"]
    with pytest.raises(TypeError):
        s.interaction_policy.commands["x"] = "defer"  # type: ignore[index]
    only = load({"INTERACTION_POLICY": '{"commands": {"a": "defer"}}'}).interaction_policy
    assert dict(only.components) == {}


def test_every_policy_problem_reported_with_its_path() -> None:
    bad = {
        "commands": {"trade": "later", "ok": "defer", "": "respond"},
        "components": ["trade:"],
        "extra": 1,
    }
    found = problems({"INTERACTION_POLICY": orjson.dumps(bad).decode(), "PORT": "0"})
    names = [p.split(":", 1)[0] for p in found]
    assert sorted(names) == [
        "INTERACTION_POLICY.commands.",  # the empty command name
        "INTERACTION_POLICY.commands.trade",
        "INTERACTION_POLICY.components",
        "INTERACTION_POLICY.extra",
        "PORT",  # a policy problem does not hide the others
    ]
    assert (
        'INTERACTION_POLICY.commands.trade: expected one of "defer" | "defer-ephemeral" | '
        '"respond"' in found
    )
    assert "later" not in " ".join(found)


def test_policy_must_be_json() -> None:
    assert problems({"INTERACTION_POLICY": "{commands: trade}"}) == [
        "INTERACTION_POLICY: must be a JSON object"
    ]
    assert problems({"INTERACTION_POLICY": "[]"})[0].startswith("INTERACTION_POLICY")
