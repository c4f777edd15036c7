"""An in-memory EventService and a scripted main app (its answers, delays and headers chosen
per attempt), for the events' unit tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.clock import Clocks
from gateway.delivery.sender import RetryPolicy, SignedSender
from gateway.events.filters import forwards_from
from gateway.events.service import EventService
from gateway.journal.events import EventStore, MemoryEventStore
from gateway.rest.transport import RestResponse

TOKEN = "events-token-0123456789abcdef0123456789"
URL = "http://main/api/discord/events"


@dataclass
class Shard:
    shard_id: int = 0
    session_id: str | None = "session-a"
    seq: int | None = 0


@dataclass
class Poster:
    """The main app: `answer(events)` gives the status; records every attempt."""

    answer: Callable[[list[dict[str, Any]]], int] = lambda events: 200
    #: the answer's headers, by its status
    headers: dict[int, dict[str, str]] = field(default_factory=dict)
    delay: float = 0.0
    attempts: list[tuple[dict[str, str], list[dict[str, Any]], int]] = field(default_factory=list)
    open: int = 0
    most_open: int = 0

    async def post(
        self, url: str, headers: Mapping[str, str], body: bytes, answer_within: float
    ) -> RestResponse:
        self.open += 1
        self.most_open = max(self.most_open, self.open)
        try:
            events = orjson.loads(body)["events"]
            if self.delay:
                await asyncio.sleep(self.delay)
            status = self.answer(events)
            self.attempts.append((dict(headers), events, status))
            return RestResponse(status, self.headers.get(status, {}), b"")
        finally:
            self.open -= 1

    async def aclose(self) -> None:
        return None

    def delivered(self) -> list[dict[str, Any]]:
        return [e for _, events, status in self.attempts if status < 300 for e in events]


class Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def service(
    poster: Poster,
    store: EventStore | None = None,
    clock: Clock | None = None,
    forwards: dict[str, Any] | None = None,
    **options: Any,
) -> EventService:
    clock = clock or Clock()
    sender_options: dict[str, Any] = {}
    if "max_in_flight" in options:
        sender_options["max_in_flight"] = options.pop("max_in_flight")
    if "give_up_after" in options:
        sender_options["policy"] = RetryPolicy(give_up_after=options.pop("give_up_after"))
    clocks = Clocks(monotonic=clock, wall=clock, sleep=clock.sleep, random=lambda: 1.0)
    sender = SignedSender(poster, TOKEN, clocks=clocks, **sender_options)
    return EventService(
        store or MemoryEventStore(),
        sender,
        URL,
        forwards_from(forwards or {"MESSAGE_CREATE": {}, "GUILD_MEMBER_ADD": {}}),
        clocks=clocks,
        **options,
    )


def dispatch(events: EventService, shard: Shard, guild: str, n: int, **extra: Any) -> None:
    assert shard.seq is not None
    shard.seq += 1
    data = {"guild_id": guild, "channel_id": "9", "content": f"m{n}", "author": {"id": "7"}}
    events.on_dispatch("MESSAGE_CREATE", data | extra, shard)
