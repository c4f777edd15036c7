"""The simulator's guild events honour the intents as Discord does, and its Webhook Events are
signed with its key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import websockets

from gateway.delivery.signatures import load_public_key, verify_ed25519
from gateway.simulator import DiscordSimulator
from gateway.simulator.guild_events import GUILD_MEMBERS, GUILD_MESSAGES, MESSAGE_CONTENT
from tests.events.support import ALL_INTENTS

GUILDS = 1


@asynccontextmanager
async def identified(
    sim: DiscordSimulator, intents: int, shard: tuple[int, int] = (0, 1)
) -> AsyncIterator[Any]:
    """A bare client: IDENTIFY with `intents` on `shard`, READY read."""
    async with websockets.connect(sim.gateway_url + "/?v=10&encoding=json") as ws:
        await ws.recv()  # HELLO
        identify = {
            "token": sim.token,
            "intents": intents,
            "properties": {"os": "linux", "browser": "test", "device": "test"},
            "shard": list(shard),
        }
        await ws.send(orjson.dumps({"op": 2, "d": identify}).decode())
        ready = orjson.loads(await ws.recv())
        assert ready["t"] == "READY"
        yield ws


async def next_dispatch(ws: Any) -> dict[str, Any]:
    while True:
        payload: dict[str, Any] = orjson.loads(await ws.recv())
        if payload["op"] == 0:
            return payload


async def test_no_message_without_guild_messages_no_member_without_guild_members() -> None:
    async with (
        DiscordSimulator(allowed_privileged_intents=ALL_INTENTS) as sim,
        identified(sim, GUILDS),
    ):
        events = sim.guild_events
        assert await events.message_create(content="!pick") is None
        assert await events.member_add() is None
        assert await events.reaction_add() is None
        assert await events.voice_state_update() is None
        assert events.withheld[0] == ("MESSAGE_CREATE", "GUILD_MESSAGES not identified")
        assert events.withheld[1] == ("GUILD_MEMBER_ADD", "GUILD_MEMBERS not identified")
        assert sim.sent("MESSAGE_CREATE") == []


async def test_content_is_empty_without_message_content_except_own_and_mentions() -> None:
    async with (
        DiscordSimulator() as sim,
        identified(sim, GUILDS | GUILD_MESSAGES) as ws,
    ):
        events = sim.guild_events
        sent = await events.message_create(content="!pick pikachu")
        assert sent is not None and sent.data["content"] == ""
        assert (await next_dispatch(ws))["d"]["content"] == ""
        own = await events.message_create(content="mine", author_id=sim.config.bot_user_id)
        assert own is not None and own.data["content"] == "mine"
        data = events.message("1100000000000000001", "2", "hey bot")
        data["mentions"] = [{"id": sim.config.bot_user_id}]
        mentioned = await events.emit("MESSAGE_CREATE", data, "1100000000000000001")
        assert mentioned is not None and mentioned.data["content"] == "hey bot"


async def test_with_message_content_and_members_everything_arrives() -> None:
    intents = GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT | GUILD_MEMBERS
    async with (
        DiscordSimulator(allowed_privileged_intents=ALL_INTENTS) as sim,
        identified(sim, intents) as ws,
    ):
        sent = await sim.guild_events.message_update(content="!pick raichu")
        assert sent is not None
        dispatch = await next_dispatch(ws)
        assert dispatch["t"] == "MESSAGE_UPDATE" and dispatch["d"]["content"] == "!pick raichu"
        assert await sim.guild_events.member_add() is not None


async def test_a_guild_s_events_go_to_its_shard() -> None:
    async with (
        DiscordSimulator(shards=2) as sim,
        identified(sim, GUILDS | GUILD_MESSAGES, (0, 2)),
        identified(sim, GUILDS | GUILD_MESSAGES, (1, 2)),
    ):
        even, odd = str(2 << 22), str(3 << 22)
        first = await sim.guild_events.message_create(even)
        second = await sim.guild_events.message_create(odd)
        assert first is not None and first.shard_id == 0
        assert second is not None and second.shard_id == 1


async def test_webhook_events_are_signed_with_the_simulator_s_key() -> None:
    async with DiscordSimulator() as sim:
        events = sim.webhook_events("http://127.0.0.1:9/unused")
        body = events.body("APPLICATION_AUTHORIZED", {"scopes": []})
        signature = events.sign("1700000000", body)
        key = load_public_key(sim.webhook_public_key)
        assert verify_ed25519(key, "1700000000", body, signature, tolerance=None)
        assert orjson.loads(body)["event"]["type"] == "APPLICATION_AUTHORIZED"
