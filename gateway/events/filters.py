"""EVENT_FORWARDS: which dispatches go to the main app, and the filter of each.

A filter is `{}` (every one) or any of: `guilds` (the event's guild is listed), `channels` (its
`channel_id` is listed; an event without one does not pass, except a VOICE_STATE_UPDATE that
leaves voice, whose `channel_id` is null), `bots` (MESSAGE_* and MESSAGE_REACTION_*: false,
the default, skips events by bots, this bot included), `content_prefix` (MESSAGE_CREATE and
MESSAGE_UPDATE: the content starts with it). The settings schema (asgi_app/event_forwards.py)
checks where each key may appear; this module only applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from gateway.events import intents

#: Never forwarded: the session's own events and interactions (the relay's).
NOT_FORWARDED = frozenset({"READY", "RESUMED", "INTERACTION_CREATE"})
#: Where `bots` applies (events that have an author or a reacting user).
BOT_EVENTS = frozenset(
    {
        "MESSAGE_CREATE",
        "MESSAGE_UPDATE",
        "MESSAGE_DELETE",
        "MESSAGE_DELETE_BULK",
        "MESSAGE_REACTION_ADD",
        "MESSAGE_REACTION_REMOVE",
        "MESSAGE_REACTION_REMOVE_ALL",
        "MESSAGE_REACTION_REMOVE_EMOJI",
    }
)
#: Where `content_prefix` applies.
CONTENT_EVENTS = frozenset({"MESSAGE_CREATE", "MESSAGE_UPDATE"})
#: Events whose data is the guild itself (its id is `id`, not `guild_id`).
_GUILD_OBJECT = frozenset({"GUILD_CREATE", "GUILD_UPDATE", "GUILD_DELETE"})


@dataclass(frozen=True, slots=True)
class Filter:
    guilds: frozenset[str] | None = None
    channels: frozenset[str] | None = None
    bots: bool = False
    content_prefix: str | None = None

    def passes(self, event: str, data: Any, bot_user_id: str | None) -> bool:
        if self.guilds is not None and guild_of(event, data) not in self.guilds:
            return False
        if self.channels is not None and not _channel_passes(event, data, self.channels):
            return False
        if not self.bots and event in BOT_EVENTS and by_bot(data, bot_user_id):
            return False
        if self.content_prefix is not None:
            content = data.get("content")
            if not isinstance(content, str) or not content.startswith(self.content_prefix):
                return False
        return True


def _channel_passes(event: str, data: Any, channels: frozenset[str]) -> bool:
    channel = data.get("channel_id")
    if channel is None and event == "VOICE_STATE_UPDATE" and "channel_id" in data:
        return True  # leaving voice: the main app matches it with the join it saw
    return channel is not None and str(channel) in channels


def guild_of(event: str, data: Any) -> str | None:
    """The guild an event belongs to (its lane), or None."""
    if not isinstance(data, dict):
        return None
    guild = data.get("id") if event in _GUILD_OBJECT else data.get("guild_id")
    if guild is None:
        nested = data.get("guild")  # Webhook Events (APPLICATION_AUTHORIZED: `guild`)
        guild = nested.get("id") if isinstance(nested, dict) else None
    return None if guild is None else str(guild)


def by_bot(data: Any, bot_user_id: str | None) -> bool:
    """The message's author, or the reacting member, is a bot (or this bot)."""
    author = data.get("author")
    if isinstance(author, dict):
        return bool(author.get("bot")) or (
            bot_user_id is not None and str(author.get("id")) == bot_user_id
        )
    member = data.get("member")
    user = member.get("user") if isinstance(member, dict) else None
    if isinstance(user, dict) and user.get("bot"):
        return True
    user_id = data.get("user_id")
    return bot_user_id is not None and user_id is not None and str(user_id) == bot_user_id


@dataclass(frozen=True)
class Forwards:
    """EVENT_FORWARDS, validated: dispatch name -> its filter."""

    filters: Mapping[str, Filter] = field(default_factory=lambda: MappingProxyType({}))

    def __bool__(self) -> bool:
        return bool(self.filters)

    def intents(self) -> int:
        """The intents the forwarded events need (added to GATEWAY_INTENTS)."""
        value = 0
        for event, rule in self.filters.items():
            value |= intents.bits(intents.needed(event, content=rule.content_prefix is not None))
        return value

    def missing_privileged(self, gateway_intents: int) -> list[tuple[str, str]]:
        """(event, intent) for each privileged intent an event needs that `gateway_intents`
        does not carry."""
        missing: list[tuple[str, str]] = []
        for event, rule in self.filters.items():
            for name in intents.needed(event, content=rule.content_prefix is not None):
                if name in intents.PRIVILEGED and not gateway_intents & intents.INTENTS[name]:
                    missing.append((event, name))
        return missing


def forwards_from(document: Mapping[str, Mapping[str, Any]]) -> Forwards:
    """A validated EVENT_FORWARDS document as `Forwards`."""
    filters: dict[str, Filter] = {}
    for event, rule in document.items():
        guilds, channels = rule.get("guilds"), rule.get("channels")
        filters[event] = Filter(
            guilds=frozenset(str(g) for g in guilds) if guilds is not None else None,
            channels=frozenset(str(c) for c in channels) if channels is not None else None,
            bots=bool(rule.get("bots", False)),
            content_prefix=rule.get("content_prefix"),
        )
    return Forwards(MappingProxyType(filters))
