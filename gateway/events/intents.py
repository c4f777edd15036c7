"""Which gateway intent each dispatch needs (Discord's "List of Intents"), and which of them
are privileged. EVENT_FORWARDS adds the intents of the events it names to GATEWAY_INTENTS; a
privileged one must already be there (it also has to be switched on in the developer portal).

Messages and reactions are taken as guild ones (GUILD_MESSAGES, GUILD_MESSAGE_REACTIONS); a
bot that wants them from DMs as well adds DIRECT_MESSAGES / DIRECT_MESSAGE_REACTIONS to
GATEWAY_INTENTS itself. A dispatch not in the table (USER_UPDATE, ENTITLEMENT_CREATE, ...) needs
no intent. `content_prefix` needs MESSAGE_CONTENT: without it, Discord sends guild messages
with an empty `content`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

INTENTS: Mapping[str, int] = MappingProxyType(
    {
        "GUILDS": 1 << 0,
        "GUILD_MEMBERS": 1 << 1,
        "GUILD_MODERATION": 1 << 2,
        "GUILD_EXPRESSIONS": 1 << 3,
        "GUILD_INTEGRATIONS": 1 << 4,
        "GUILD_WEBHOOKS": 1 << 5,
        "GUILD_INVITES": 1 << 6,
        "GUILD_VOICE_STATES": 1 << 7,
        "GUILD_PRESENCES": 1 << 8,
        "GUILD_MESSAGES": 1 << 9,
        "GUILD_MESSAGE_REACTIONS": 1 << 10,
        "GUILD_MESSAGE_TYPING": 1 << 11,
        "DIRECT_MESSAGES": 1 << 12,
        "DIRECT_MESSAGE_REACTIONS": 1 << 13,
        "DIRECT_MESSAGE_TYPING": 1 << 14,
        "MESSAGE_CONTENT": 1 << 15,
        "GUILD_SCHEDULED_EVENTS": 1 << 16,
        "AUTO_MODERATION_CONFIGURATION": 1 << 20,
        "AUTO_MODERATION_EXECUTION": 1 << 21,
        "GUILD_MESSAGE_POLLS": 1 << 24,
        "DIRECT_MESSAGE_POLLS": 1 << 25,
    }
)
PRIVILEGED = ("GUILD_MEMBERS", "GUILD_PRESENCES", "MESSAGE_CONTENT")

_BY_INTENT = {
    "GUILDS": (
        "GUILD_CREATE GUILD_UPDATE GUILD_DELETE GUILD_ROLE_CREATE GUILD_ROLE_UPDATE"
        " GUILD_ROLE_DELETE CHANNEL_CREATE CHANNEL_UPDATE CHANNEL_DELETE CHANNEL_PINS_UPDATE"
        " THREAD_CREATE THREAD_UPDATE THREAD_DELETE THREAD_LIST_SYNC THREAD_MEMBER_UPDATE"
        " STAGE_INSTANCE_CREATE STAGE_INSTANCE_UPDATE STAGE_INSTANCE_DELETE"
    ),
    "GUILD_MEMBERS": (
        "GUILD_MEMBER_ADD GUILD_MEMBER_UPDATE GUILD_MEMBER_REMOVE THREAD_MEMBERS_UPDATE"
    ),
    "GUILD_MODERATION": "GUILD_AUDIT_LOG_ENTRY_CREATE GUILD_BAN_ADD GUILD_BAN_REMOVE",
    "GUILD_EXPRESSIONS": (
        "GUILD_EMOJIS_UPDATE GUILD_STICKERS_UPDATE GUILD_SOUNDBOARD_SOUND_CREATE"
        " GUILD_SOUNDBOARD_SOUND_UPDATE GUILD_SOUNDBOARD_SOUND_DELETE"
        " GUILD_SOUNDBOARD_SOUNDS_UPDATE"
    ),
    "GUILD_INTEGRATIONS": (
        "GUILD_INTEGRATIONS_UPDATE INTEGRATION_CREATE INTEGRATION_UPDATE INTEGRATION_DELETE"
    ),
    "GUILD_WEBHOOKS": "WEBHOOKS_UPDATE",
    "GUILD_INVITES": "INVITE_CREATE INVITE_DELETE",
    "GUILD_VOICE_STATES": "VOICE_STATE_UPDATE VOICE_CHANNEL_EFFECT_SEND",
    "GUILD_PRESENCES": "PRESENCE_UPDATE",
    "GUILD_MESSAGES": "MESSAGE_CREATE MESSAGE_UPDATE MESSAGE_DELETE MESSAGE_DELETE_BULK",
    "GUILD_MESSAGE_REACTIONS": (
        "MESSAGE_REACTION_ADD MESSAGE_REACTION_REMOVE MESSAGE_REACTION_REMOVE_ALL"
        " MESSAGE_REACTION_REMOVE_EMOJI"
    ),
    "GUILD_MESSAGE_TYPING": "TYPING_START",
    "GUILD_SCHEDULED_EVENTS": (
        "GUILD_SCHEDULED_EVENT_CREATE GUILD_SCHEDULED_EVENT_UPDATE GUILD_SCHEDULED_EVENT_DELETE"
        " GUILD_SCHEDULED_EVENT_USER_ADD GUILD_SCHEDULED_EVENT_USER_REMOVE"
    ),
    "AUTO_MODERATION_CONFIGURATION": (
        "AUTO_MODERATION_RULE_CREATE AUTO_MODERATION_RULE_UPDATE AUTO_MODERATION_RULE_DELETE"
    ),
    "AUTO_MODERATION_EXECUTION": "AUTO_MODERATION_ACTION_EXECUTION",
    "GUILD_MESSAGE_POLLS": "MESSAGE_POLL_VOTE_ADD MESSAGE_POLL_VOTE_REMOVE",
}
#: dispatch name -> the intent it needs
EVENT_INTENT: Mapping[str, str] = MappingProxyType(
    {event: intent for intent, events in _BY_INTENT.items() for event in events.split()}
)
#: What `content_prefix` needs.
CONTENT_INTENT = "MESSAGE_CONTENT"


def needed(event: str, *, content: bool = False) -> list[str]:
    """The intents (names) `event` needs; `content`: its filter reads the message content."""
    names = [EVENT_INTENT[event]] if event in EVENT_INTENT else []
    if content:
        names.append(CONTENT_INTENT)
    return names


def bits(names: list[str]) -> int:
    value = 0
    for name in names:
        value |= INTENTS[name]
    return value


def intent_names(value: int) -> list[str]:
    return [name for name, bit in INTENTS.items() if value & bit]
