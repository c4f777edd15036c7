"""AuditLog through DiscordRest to the simulator's channel messages route."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.audit.log import GUILD_EVENTS, AuditLog, clamp_embed, guild_event_embed
from gateway.clock import Clocks
from gateway.rest.client import DiscordRest, new_rest_client
from gateway.simulator import DiscordSimulator

CHANNEL = "555"


@pytest.fixture
async def env() -> AsyncIterator[tuple[DiscordSimulator, DiscordRest]]:
    async with DiscordSimulator() as sim:
        client = new_rest_client(sim.api_base)
        try:
            yield sim, DiscordRest(sim.api_base, sim.token, client)
        finally:
            await client.aclose()


class FakeManager:
    def __init__(self) -> None:
        self.handlers: dict[str, Any] = {}
        self.status_callbacks: list[Any] = []
        self.notice_callbacks: list[Any] = []

    def on(self, event: str, handler: Any) -> Any:
        self.handlers[event] = handler
        return handler

    def on_status(self, callback: Any) -> Any:
        self.status_callbacks.append(callback)
        return callback

    def on_notice(self, callback: Any) -> Any:
        self.notice_callbacks.append(callback)
        return callback


def embeds(sim: DiscordSimulator) -> list[dict[str, Any]]:
    return [r.json["embeds"][0] for r in sim.rest.find("POST", f"/channels/{CHANNEL}/messages")]


async def test_start_and_shutdown_embeds(env: tuple[DiscordSimulator, DiscordRest]) -> None:
    sim, rest = env
    audit = AuditLog(rest, CHANNEL)
    audit.started("v0.1.0")
    audit.shutdown()
    await audit.flush()
    sent = embeds(sim)
    assert [e["title"] for e in sent] == ["Server started", "Server shutting down"]
    assert sent[0]["description"] == "v0.1.0" and "description" not in sent[1]
    assert all("timestamp" in e for e in sent)
    (req, _) = sim.rest.find("POST", f"/channels/{CHANNEL}/messages")
    assert req.json["allowed_mentions"] == {"parse": []}
    assert audit.sent == 2


async def test_disabled_without_a_channel(env: tuple[DiscordSimulator, DiscordRest]) -> None:
    sim, rest = env
    audit = AuditLog(rest, None)
    manager = FakeManager()
    audit.attach(manager)
    audit.started()
    await audit.flush()
    assert manager.handlers == {} and sim.rest.find("POST", "/channels/*") == []


async def test_guild_events_attached_and_posted(env: tuple[DiscordSimulator, DiscordRest]) -> None:
    sim, rest = env
    audit = AuditLog(rest, CHANNEL)
    manager = FakeManager()
    audit.attach(manager)
    assert set(manager.handlers) == set(GUILD_EVENTS)
    assert manager.status_callbacks == [audit.on_status]
    user = {"id": "42", "username": "ash"}
    await manager.handlers["GUILD_MEMBER_ADD"]({"guild_id": "1", "user": user}, None)
    await manager.handlers["GUILD_BAN_ADD"]({"guild_id": "1", "user": user}, None)
    await manager.handlers["CHANNEL_DELETE"]({"guild_id": "1", "id": "9", "name": "draft"}, None)
    await manager.handlers["GUILD_ROLE_DELETE"]({"guild_id": "1", "role_id": "77"}, None)
    await audit.flush()
    titles = [e["title"] for e in embeds(sim)]
    assert titles == ["Member joined", "Member banned", "Channel deleted", "Role deleted"]
    assert "ash (<@42>)" in embeds(sim)[0]["description"]


def test_every_guild_event_has_an_embed() -> None:
    for event in GUILD_EVENTS:
        embed = guild_event_embed(
            event, {"guild_id": "1", "user": {"id": "2"}, "role": {"id": "3"}}
        )
        assert embed is not None and embed["title"]
    assert guild_event_embed("MESSAGE_CREATE", {}) is None
    assert guild_event_embed("GUILD_MEMBER_ADD", "garbage") is None


def test_long_texts_are_cut_to_discords_limits() -> None:
    embed = clamp_embed(
        {
            "title": "t" * 300,
            "description": "d" * 5000,
            "footer": {"text": "f" * 3000},
            "fields": [{"name": "n" * 300, "value": "v" * 2000} for _ in range(30)],
        }
    )
    assert len(embed["title"]) == 256 and embed["title"].endswith("…")
    assert len(embed["footer"]["text"]) <= 2048
    assert len(embed["description"]) <= 4096
    assert len(embed["fields"]) <= 25
    assert all(len(f["name"]) <= 256 and len(f["value"]) <= 1024 for f in embed["fields"])
    total = (
        len(embed["title"])
        + len(embed["description"])
        + len(embed["footer"]["text"])
        + sum(len(f["name"]) + len(f["value"]) for f in embed["fields"])
    )
    assert total <= 6000


async def test_long_texts_are_accepted_by_the_simulator(
    env: tuple[DiscordSimulator, DiscordRest],
) -> None:
    sim, rest = env
    audit = AuditLog(rest, CHANNEL)
    audit.fatal("x" * 10_000)
    await audit.flush()
    (embed,) = embeds(sim)
    assert len(embed["description"]) == 4096
    assert audit.sent == 1


async def test_failures_never_break_anything(env: tuple[DiscordSimulator, DiscordRest]) -> None:
    sim, rest = env
    rest.retries.backoff_base = 0.001
    sim.rest.inject(f"/channels/{CHANNEL}/messages", 400, times=1)
    sim.rest.inject(f"/channels/{CHANNEL}/messages", drop=True, times=3)
    audit = AuditLog(rest, CHANNEL)
    audit.started()  # 400
    await audit.flush()
    audit.started()  # connection dropped three times
    await audit.flush()
    assert audit.failed == 2 and audit.sent == 0
    audit.started()  # and it still works afterwards
    await audit.flush()
    assert audit.sent == 1


async def test_pending_messages_are_bounded(env: tuple[DiscordSimulator, DiscordRest]) -> None:
    sim, rest = env
    sim.rest.set_latency(f"/channels/{CHANNEL}/messages", 0.2)
    audit = AuditLog(rest, CHANNEL, max_pending=3)
    tasks = [audit.post({"title": str(i)}) for i in range(10)]
    assert sum(t is not None for t in tasks) == 3
    assert audit.dropped == 7
    await audit.flush()
    assert audit.sent == 3


class GatedSleep:
    """An injected sleep that returns only when the test releases it: the outage grace ends
    exactly when the test says, not after a wall-clock wait."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self._waiting: list[asyncio.Future[None]] = []
        self._called = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        self._called.set()
        await future

    async def started(self) -> None:
        await self._called.wait()
        self._called.clear()

    def release(self) -> None:
        for future in self._waiting:
            if not future.done():
                future.set_result(None)
        self._waiting.clear()


async def test_outage_after_grace_then_recovery_and_fatal(
    env: tuple[DiscordSimulator, DiscordRest],
) -> None:
    sim, rest = env
    grace = GatedSleep()
    audit = AuditLog(rest, CHANNEL, outage_grace=30.0, clocks=Clocks(sleep=grace))
    audit.on_status("ready", None)
    audit.on_status("resuming", None)
    await grace.started()
    audit.on_status("ready", None)  # a quick resume: its grace timer is cancelled, no report
    grace.release()
    audit.on_status("connecting", None)
    await grace.started()
    grace.release()  # the grace ends while still connecting: the outage is reported
    await asyncio.sleep(0)
    audit.on_status("ready", None)
    audit.on_status("failed", "4004: authentication failed")
    await audit.flush()
    assert grace.asked == [30.0, 30.0]
    titles = [e["title"] for e in embeds(sim)]
    assert titles == [
        "Discord gateway outage",
        "Discord gateway recovered",
        "Discord gateway stopped (fatal)",
    ]
    assert embeds(sim)[2]["description"] == "4004: authentication failed"
    await audit.aclose()
