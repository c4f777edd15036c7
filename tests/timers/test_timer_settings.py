"""TIMERS_URL: `{ORIGIN_URL}/api/discord/timers` by default; https in production unless its
host is a loopback address (or ALLOW_INSECURE_URLS=true)."""

from __future__ import annotations

import pytest

from asgi_app.settings import SettingsError, load_settings
from tests.support.harness.logcapture import note_settings

PROD = {
    "BOT_TOKEN": "bot-token-for-the-timer-settings-test",
    "AUTH_TOKEN": "auth-token-for-the-timer-settings-0123456789",
    "ORIGIN_URL": "https://league.example.com",
}


def test_the_default_follows_origin_url() -> None:
    settings = note_settings(load_settings(PROD, None))
    assert settings.timers_url == "https://league.example.com/api/discord/timers"
    given = note_settings(load_settings({**PROD, "TIMERS_URL": "https://h.example/t/"}, None))
    assert given.timers_url == "https://h.example/t"


def test_plain_http_is_refused_in_production_by_name() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({**PROD, "TIMERS_URL": "http://MARKER.example.com/t"}, None)
    [problem] = caught.value.problems
    assert problem.startswith("TIMERS_URL: must be https") and "MARKER" not in problem
    loopback = note_settings(load_settings({**PROD, "TIMERS_URL": "http://127.0.0.1:3000/t"}, None))
    assert loopback.timers_url == "http://127.0.0.1:3000/t"
    with pytest.raises(SettingsError):
        load_settings({**PROD, "TIMERS_URL": "ftp://x.example/t"}, None)
