"""Guild events as Discord dispatches them, with the intents Discord requires.

`sim.guild_events` (a `GuildEvents`) builds realistic payloads for GUILD_MEMBER_ADD/REMOVE,
MESSAGE_CREATE/UPDATE/DELETE, MESSAGE_REACTION_ADD/REMOVE and VOICE_STATE_UPDATE and
dispatches each on the shard its guild belongs to (`(guild_id >> 22) % shard_count`, as
Discord shards), only when that shard's IDENTIFY asked for the intent the event needs:

- GUILD_MEMBERS (privileged) for the member events, GUILD_MESSAGES for the messages,
  GUILD_MESSAGE_REACTIONS for the reactions, GUILD_VOICE_STATES for voice;
- without MESSAGE_CONTENT (privileged), a message's `content`, `embeds`, `attachments` and
  `components` arrive empty, except the bot's own messages and those that mention it.

A withheld event returns None and is listed in `withheld` (name, reason). The intents table
is the simulator's own copy: it is the other side of the wire.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gateway.simulator.simulator import DiscordSimulator

GUILD_MEMBERS = 1 << 1
GUILD_VOICE_STATES = 1 << 7
GUILD_MESSAGES = 1 << 9
GUILD_MESSAGE_REACTIONS = 1 << 10
MESSAGE_CONTENT = 1 << 15
NEEDS: dict[str, tuple[int, str]] = {
    "GUILD_MEMBER_ADD": (GUILD_MEMBERS, "GUILD_MEMBERS"),
    "GUILD_MEMBER_REMOVE": (GUILD_MEMBERS, "GUILD_MEMBERS"),
    "MESSAGE_CREATE": (GUILD_MESSAGES, "GUILD_MESSAGES"),
    "MESSAGE_UPDATE": (GUILD_MESSAGES, "GUILD_MESSAGES"),
    "MESSAGE_DELETE": (GUILD_MESSAGES, "GUILD_MESSAGES"),
    "MESSAGE_REACTION_ADD": (GUILD_MESSAGE_REACTIONS, "GUILD_MESSAGE_REACTIONS"),
    "MESSAGE_REACTION_REMOVE": (GUILD_MESSAGE_REACTIONS, "GUILD_MESSAGE_REACTIONS"),
    "VOICE_STATE_UPDATE": (GUILD_VOICE_STATES, "GUILD_VOICE_STATES"),
}
TIMESTAMP = "2024-01-01T00:00:00.000000+00:00"
GUILD_ID = "1100000000000000001"
CHANNEL_ID = "1100000000000000002"
USER_ID = "1100000000000000003"


@dataclass(frozen=True)
class Sent:
    name: str
    shard_id: int
    seq: int
    data: dict[str, Any]


def user(user_id: str, *, bot: bool = False, name: str = "coach") -> dict[str, Any]:
    return {
        "id": user_id,
        "username": name,
        "global_name": name.title(),
        "discriminator": "0",
        "avatar": None,
        "bot": bot,
        "public_flags": 0,
    }


def member(user_id: str, *, bot: bool = False) -> dict[str, Any]:
    return {
        "user": user(user_id, bot=bot),
        "roles": [],
        "joined_at": TIMESTAMP,
        "nick": None,
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
    }


@dataclass
class GuildEvents:
    sim: DiscordSimulator
    withheld: list[tuple[str, str]] = field(default_factory=list)

    def shard_for(self, guild_id: str) -> int | None:
        """The shard with a live session that Discord would send `guild_id`'s events on."""
        for session in list(self.sim.sessions.values()):
            shard_id, count = session.shard
            current = self.sim.session(shard_id) is session
            if current and (int(guild_id) >> 22) % count == shard_id:
                return shard_id
        return None

    async def emit(self, name: str, data: dict[str, Any], guild_id: str) -> Sent | None:
        """Dispatch `name` on `guild_id`'s shard as Discord would (None: withheld)."""
        shard_id = self.shard_for(guild_id)
        session = self.sim.session(shard_id) if shard_id is not None else None
        if shard_id is None or session is None:
            self.withheld.append((name, "no session for the guild's shard"))
            return None
        intents = int(session.identify.get("intents") or 0)
        bit, intent = NEEDS.get(name, (0, ""))
        if bit and not intents & bit:
            self.withheld.append((name, f"{intent} not identified"))
            return None
        if name in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not intents & MESSAGE_CONTENT:
            data = self._without_content(data)
        seq = await self.sim.dispatch(name, data, shard_id)
        return Sent(name, shard_id, seq, data)

    def _without_content(self, data: dict[str, Any]) -> dict[str, Any]:
        bot_id = self.sim.config.bot_user_id
        author = data.get("author") or {}
        mentioned = any(m.get("id") == bot_id for m in data.get("mentions", []))
        if author.get("id") == bot_id or mentioned:
            return data
        return data | {"content": "", "embeds": [], "attachments": [], "components": []}

    # -- the events --------------------------------------------------------------------------
    async def member_add(
        self, guild_id: str = GUILD_ID, user_id: str = USER_ID, *, bot: bool = False
    ) -> Sent | None:
        data = member(user_id, bot=bot) | {"guild_id": guild_id}
        return await self.emit("GUILD_MEMBER_ADD", data, guild_id)

    async def member_remove(self, guild_id: str = GUILD_ID, user_id: str = USER_ID) -> Sent | None:
        data = {"guild_id": guild_id, "user": user(user_id)}
        return await self.emit("GUILD_MEMBER_REMOVE", data, guild_id)

    def message(
        self,
        guild_id: str,
        channel_id: str,
        content: str,
        *,
        author_id: str = USER_ID,
        bot: bool = False,
        message_id: str | None = None,
    ) -> dict[str, Any]:
        return {
            "id": message_id or self.sim.ids.next(),
            "channel_id": channel_id,
            "guild_id": guild_id,
            "author": user(author_id, bot=bot),
            "member": {k: v for k, v in member(author_id, bot=bot).items() if k != "user"},
            "content": content,
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
            "components": [],
            "nonce": secrets.token_hex(8),
        }

    async def message_create(
        self,
        guild_id: str = GUILD_ID,
        channel_id: str = CHANNEL_ID,
        content: str = "!pick pikachu",
        *,
        author_id: str = USER_ID,
        bot: bool = False,
        message_id: str | None = None,
    ) -> Sent | None:
        data = self.message(
            guild_id, channel_id, content, author_id=author_id, bot=bot, message_id=message_id
        )
        return await self.emit("MESSAGE_CREATE", data, guild_id)

    async def message_update(
        self,
        guild_id: str = GUILD_ID,
        channel_id: str = CHANNEL_ID,
        content: str = "!pick raichu",
        *,
        author_id: str = USER_ID,
        bot: bool = False,
        message_id: str | None = None,
    ) -> Sent | None:
        data = self.message(
            guild_id, channel_id, content, author_id=author_id, bot=bot, message_id=message_id
        )
        data["edited_timestamp"] = TIMESTAMP
        return await self.emit("MESSAGE_UPDATE", data, guild_id)

    async def message_delete(
        self, guild_id: str = GUILD_ID, channel_id: str = CHANNEL_ID, message_id: str | None = None
    ) -> Sent | None:
        data = {"id": message_id or self.sim.ids.next(), "channel_id": channel_id}
        return await self.emit("MESSAGE_DELETE", data | {"guild_id": guild_id}, guild_id)

    def _reaction(
        self,
        guild_id: str,
        channel_id: str,
        message_id: str | None,
        user_id: str,
        emoji: str,
    ) -> dict[str, Any]:
        return {
            "user_id": user_id,
            "channel_id": channel_id,
            "message_id": message_id or self.sim.ids.next(),
            "guild_id": guild_id,
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }

    async def reaction_add(
        self,
        guild_id: str = GUILD_ID,
        channel_id: str = CHANNEL_ID,
        message_id: str | None = None,
        *,
        user_id: str = USER_ID,
        emoji: str = "\N{THUMBS UP SIGN}",
        bot: bool = False,
    ) -> Sent | None:
        data = self._reaction(guild_id, channel_id, message_id, user_id, emoji)
        data |= {"member": member(user_id, bot=bot), "burst_colors": []}
        return await self.emit("MESSAGE_REACTION_ADD", data, guild_id)

    async def reaction_remove(
        self,
        guild_id: str = GUILD_ID,
        channel_id: str = CHANNEL_ID,
        message_id: str | None = None,
        *,
        user_id: str = USER_ID,
        emoji: str = "\N{THUMBS UP SIGN}",
    ) -> Sent | None:
        data = self._reaction(guild_id, channel_id, message_id, user_id, emoji)
        return await self.emit("MESSAGE_REACTION_REMOVE", data, guild_id)

    async def voice_state_update(
        self,
        guild_id: str = GUILD_ID,
        channel_id: str | None = CHANNEL_ID,
        *,
        user_id: str = USER_ID,
    ) -> Sent | None:
        """A member joins (or moves to) `channel_id`; None leaves voice."""
        data = {
            "guild_id": guild_id,
            "channel_id": channel_id,
            "user_id": user_id,
            "member": member(user_id),
            "session_id": secrets.token_hex(16),
            "deaf": False,
            "mute": False,
            "self_deaf": False,
            "self_mute": False,
            "self_video": False,
            "suppress": False,
            "request_to_speak_timestamp": None,
        }
        return await self.emit("VOICE_STATE_UPDATE", data, guild_id)
