"""Realistic INTERACTION_CREATE payloads (types 2, 3, 4, 5) for tests, benches and dev mode.
Ids, token and application_id are left out unless given; send_interaction() fills them."""

from __future__ import annotations

from typing import Any

GUILD_ID = "1100000000000000001"
CHANNEL_ID = "1100000000000000002"
USER_ID = "1100000000000000003"
MESSAGE_ID = "1100000000000000004"


def _member(user_id: str) -> dict[str, Any]:
    return {
        "user": {
            "id": user_id,
            "username": "league_player",
            "global_name": "League Player",
            "discriminator": "0",
            "avatar": None,
            "public_flags": 0,
        },
        "roles": [],
        "joined_at": "2024-01-01T00:00:00.000000+00:00",
        "nick": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "permissions": "2248473465835073",
    }


def _base(
    kind: int, data: dict[str, Any], guild_id: str, channel_id: str, user_id: str
) -> dict[str, Any]:
    return {
        "type": kind,
        "data": data,
        "guild_id": guild_id,
        "guild": {"id": guild_id, "locale": "en-US", "features": []},
        "channel_id": channel_id,
        "channel": {"id": channel_id, "type": 0, "guild_id": guild_id, "name": "draft"},
        "member": _member(user_id),
        "version": 1,
        "app_permissions": "2248473465835073",
        "locale": "en-US",
        "guild_locale": "en-US",
        "entitlements": [],
        "authorizing_integration_owners": {"0": guild_id},
        "context": 0,
        "attachment_size_limit": 10485760,
    }


def _message(message_id: str, channel_id: str, components: list[Any]) -> dict[str, Any]:
    return {
        "id": message_id,
        "channel_id": channel_id,
        "type": 0,
        "content": "Pick your team",
        "components": components,
        "embeds": [],
        "flags": 0,
        "author": {"id": "1000", "username": "Simulated Bot", "bot": True, "discriminator": "0"},
        "timestamp": "2024-01-01T00:00:00.000000+00:00",
    }


def command(
    name: str = "draft",
    options: list[dict[str, Any]] | None = None,
    *,
    command_id: str = "1200000000000000001",
    guild_id: str = GUILD_ID,
    channel_id: str = CHANNEL_ID,
    user_id: str = USER_ID,
) -> dict[str, Any]:
    """Type 2: a slash command."""
    data: dict[str, Any] = {"id": command_id, "name": name, "type": 1, "guild_id": guild_id}
    if options:
        data["options"] = options
    return _base(2, data, guild_id, channel_id, user_id)


def component(
    custom_id: str = "pick:blue",
    *,
    component_type: int = 2,
    values: list[str] | None = None,
    message_id: str = MESSAGE_ID,
    guild_id: str = GUILD_ID,
    channel_id: str = CHANNEL_ID,
    user_id: str = USER_ID,
) -> dict[str, Any]:
    """Type 3: a button (component_type 2) or select menu click, with the message it is on."""
    data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
    if values is not None:
        data["values"] = values
    button = {"type": 2, "style": 1, "label": "Pick", "custom_id": custom_id}
    interaction = _base(3, data, guild_id, channel_id, user_id)
    interaction["message"] = _message(message_id, channel_id, [{"type": 1, "components": [button]}])
    return interaction


def autocomplete(
    name: str = "draft",
    option: str = "pokemon",
    value: str = "pika",
    *,
    guild_id: str = GUILD_ID,
    channel_id: str = CHANNEL_ID,
    user_id: str = USER_ID,
) -> dict[str, Any]:
    """Type 4: autocomplete, with one focused string option."""
    data = {
        "id": "1200000000000000001",
        "name": name,
        "type": 1,
        "options": [{"name": option, "type": 3, "value": value, "focused": True}],
    }
    return _base(4, data, guild_id, channel_id, user_id)


def modal_submit(
    custom_id: str = "trade:modal",
    fields: dict[str, str] | None = None,
    *,
    from_message: bool = False,
    message_id: str = MESSAGE_ID,
    guild_id: str = GUILD_ID,
    channel_id: str = CHANNEL_ID,
    user_id: str = USER_ID,
) -> dict[str, Any]:
    """Type 5: a modal submit; `from_message=True` when the modal was opened by a component."""
    rows = [
        {"type": 1, "components": [{"type": 4, "custom_id": key, "value": value}]}
        for key, value in (fields or {"reason": "swap picks"}).items()
    ]
    interaction = _base(
        5, {"custom_id": custom_id, "components": rows}, guild_id, channel_id, user_id
    )
    if from_message:
        interaction["message"] = _message(message_id, channel_id, [])
    return interaction
