"""A recording main app for event batches, and the server against a simulator with it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from gateway.delivery.signatures import load_public_key, verify_ed25519, verify_signature
from gateway.simulator import DiscordSimulator
from tests.support.harness.app import AUTH_TOKEN, Running, running_app
from tests.support.harness.server import read_request, serve

EVENTS_PATH = "/api/discord/events"
#: Intents with every privileged one, for the simulator and GATEWAY_INTENTS.
ALL_INTENTS = (1 << 26) - 1


@dataclass
class Batch:
    delivery_id: str
    attempt: int
    status: int
    events: list[dict[str, Any]]
    signed: bool
    headers: dict[str, str]
    raw: bytes


@dataclass
class EventsMainApp:
    """Answers `status_for(batch)` (200 unless told) after `delay` s; records every batch.
    `public_key`: the server's forward public key (hex), set once it is known."""

    delay: float = 0.0
    status_for: Callable[[list[dict[str, Any]]], int] = lambda events: 200
    public_key: str | None = None
    batches: list[Batch] = field(default_factory=list)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        raw, headers = await read_request(scope, receive)
        stamp = headers.get("x-signature-timestamp", "")
        signed = verify_signature(AUTH_TOKEN, stamp, raw, headers.get("x-signature-sha256", ""))
        if self.public_key is not None:
            key = load_public_key(self.public_key)
            signed = signed and verify_ed25519(key, stamp, raw, headers.get("x-signature-ed25519"))
        events = orjson.loads(raw)["events"]
        status = self.status_for(events) if scope["path"] == EVENTS_PATH else 404
        if self.delay:
            await asyncio.sleep(self.delay)
        self.batches.append(
            Batch(
                headers.get("x-delivery-id", ""),
                int(headers.get("x-delivery-attempt", "0")),
                status,
                events,
                signed,
                headers,
                raw,
            )
        )
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    def delivered(self) -> list[dict[str, Any]]:
        """Every event of every batch answered 2xx, in the order they arrived."""
        return [e for b in self.batches if 200 <= b.status < 300 for e in b.events]

    def delivered_ids(self) -> list[str]:
        return [e["id"] for e in self.delivered()]


@asynccontextmanager
async def events_app(
    tmp_path: Path,
    forwards: dict[str, Any],
    *,
    main: EventsMainApp | None = None,
    sim: DiscordSimulator | None = None,
    **env: str,
) -> AsyncIterator[tuple[Running, EventsMainApp]]:
    """The server (production mode) forwarding `forwards` to a recording main app."""
    main = main or EventsMainApp()
    own = sim is None
    simulator = sim or DiscordSimulator(
        heartbeat_interval_ms=500, allowed_privileged_intents=ALL_INTENTS
    )
    if own:
        await simulator.start()
    try:
        async with serve(main) as main_url:
            options: dict[str, Any] = {
                "EVENT_FORWARDS": orjson.dumps(forwards).decode(),
                "EVENTS_URL": main_url + EVENTS_PATH,
                "GATEWAY_INTENTS": str(ALL_INTENTS),
                **env,
            }
            async with running_app(tmp_path, sim=simulator, **options) as running:
                main.public_key = running.app.services.running.signing_public_key
                yield running, main
    finally:
        if own:
            await simulator.stop()
