"""EVENT_FORWARDS and the EVENTS_* settings: every problem at its path, the intents derived,
a privileged intent refused unless GATEWAY_INTENTS carries it (naming event and intent)."""

from __future__ import annotations

import orjson
import pytest

from asgi_app.settings import Settings, SettingsError, load_settings

BASE = {
    "APP_ENV": "production",
    "BOT_TOKEN": "bot",
    "AUTH_TOKEN": "a" * 40,
    "ORIGIN_URL": "https://app.example.com",
}


def load(**env: str) -> Settings:
    return load_settings(BASE | env, env_file=None)


def problems(**env: str) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load(**env)
    return caught.value.problems


def test_defaults() -> None:
    settings = load()
    assert not settings.event_forwards
    assert settings.events_url == "https://app.example.com/api/discord/events"
    assert settings.gateway_intents == 5
    assert (settings.events_batch_max, settings.events_batch_wait_ms) == (1, 0)
    assert (settings.events_max_in_flight, settings.events_max_pending) == (32, 100_000)
    assert settings.events_retry_hours == 24


def test_the_intents_the_events_need_are_added() -> None:
    forwards = {"MESSAGE_CREATE": {"channels": ["1"]}, "VOICE_STATE_UPDATE": {}, "USER_UPDATE": {}}
    settings = load(EVENT_FORWARDS=orjson.dumps(forwards).decode())
    assert settings.gateway_intents == 5 | (1 << 9) | (1 << 7)
    assert settings.event_forwards.filters["MESSAGE_CREATE"].channels == frozenset({"1"})


def test_a_privileged_intent_must_be_opted_in() -> None:
    forwards = '{"GUILD_MEMBER_ADD": {}, "MESSAGE_UPDATE": {"content_prefix": "!"}}'
    found = problems(EVENT_FORWARDS=forwards)
    assert len(found) == 2
    assert found[0].startswith("EVENT_FORWARDS.GUILD_MEMBER_ADD: ")
    assert "GUILD_MEMBER_ADD" in found[0] and "GUILD_MEMBERS" in found[0]
    assert found[1].startswith("EVENT_FORWARDS.MESSAGE_UPDATE: ")
    assert "MESSAGE_CONTENT" in found[1]
    opted = load(EVENT_FORWARDS=forwards, GATEWAY_INTENTS=str(1 | 2 | (1 << 15)))
    assert opted.gateway_intents == 1 | 2 | (1 << 15) | (1 << 9)


def test_every_problem_at_its_path() -> None:
    forwards = {
        "READY": {},
        "message_create": {},
        "MESSAGE_CREATE": {"channels": [123], "guilds": [], "colour": "red"},
        "GUILD_CREATE": {"bots": True, "content_prefix": "!"},
        "MESSAGE_DELETE": {"content_prefix": ""},
    }
    found = problems(EVENT_FORWARDS=orjson.dumps(forwards).decode())
    paths = sorted(problem.split(":")[0] for problem in found)
    assert paths == sorted(
        [
            "EVENT_FORWARDS.READY",
            "EVENT_FORWARDS.message_create",
            "EVENT_FORWARDS.MESSAGE_CREATE.channels.0",
            "EVENT_FORWARDS.MESSAGE_CREATE.guilds",
            "EVENT_FORWARDS.MESSAGE_CREATE.colour",
            "EVENT_FORWARDS.GUILD_CREATE.bots",
            "EVENT_FORWARDS.GUILD_CREATE.content_prefix",
            "EVENT_FORWARDS.MESSAGE_DELETE.content_prefix",
            "EVENT_FORWARDS.MESSAGE_DELETE.content_prefix",
        ]
    )
    assert all("123" not in problem for problem in found)  # values are never printed
    assert problems(EVENT_FORWARDS="[1]") == ["EVENT_FORWARDS: expected object, received array"]
    assert problems(EVENT_FORWARDS="{") == ["EVENT_FORWARDS: must be a JSON object"]


def test_the_numbers_and_the_url() -> None:
    found = problems(
        EVENTS_BATCH_MAX="101",
        EVENTS_BATCH_WAIT_MS="5001",
        EVENTS_MAX_IN_FLIGHT="0",
        EVENTS_MAX_PENDING="0",
        EVENTS_RETRY_HOURS="0",
        EVENTS_URL="http://app.example.com/events",
    )
    assert sorted(p.split(":")[0] for p in found) == [
        "EVENTS_BATCH_MAX",
        "EVENTS_BATCH_WAIT_MS",
        "EVENTS_MAX_IN_FLIGHT",
        "EVENTS_MAX_PENDING",
        "EVENTS_RETRY_HOURS",
        "EVENTS_URL",
    ]
    assert load(EVENTS_URL="http://127.0.0.1:3000/events").events_url.startswith("http://127")


def test_development_forwards_the_simulator_s_events_its_intents_allow() -> None:
    plain = load_settings({"APP_ENV": "development"}, env_file=None)
    assert "MESSAGE_CREATE" in plain.event_forwards.filters
    assert "GUILD_MEMBER_ADD" not in plain.event_forwards.filters
    members = load_settings({"APP_ENV": "development", "GATEWAY_INTENTS": "3"}, env_file=None)
    assert "GUILD_MEMBER_ADD" in members.event_forwards.filters
    chosen = load_settings(
        {"APP_ENV": "development", "EVENT_FORWARDS": '{"VOICE_STATE_UPDATE": {}}'}, env_file=None
    )
    assert list(chosen.event_forwards.filters) == ["VOICE_STATE_UPDATE"]
