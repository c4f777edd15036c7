"""Discord's Webhook Events: app-level events POSTed to the application's Webhook Events URL.

As Discord sends them: `{"version": 1, "application_id", "type": 0}` (PING, when the URL is
saved; a 204 is expected) or `"type": 1` with `"event": {"type", "timestamp", "data"}`, signed
like HTTP interactions with the application's key (hex `X-Signature-Ed25519` over
`X-Signature-Timestamp + body`); the simulator's key is `sim.webhook_key` and its public half
`sim.webhook_public_key` (what goes in DISCORD_PUBLIC_KEY). Discord retries an event that was
not answered 2xx, with the same body: `resend()` does that.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
import orjson

if TYPE_CHECKING:
    from gateway.simulator.simulator import DiscordSimulator

USER_AGENT = "Discord-Webhook/1.0 (+https://discord.com)"


@dataclass
class Sent:
    body: bytes
    status: int | None  # None: no answer
    elapsed: float


@dataclass
class WebhookEvents:
    sim: DiscordSimulator
    url: str
    timeout: float = 5.0
    sent: list[Sent] = field(default_factory=list)

    def sign(self, timestamp: str, body: bytes) -> str:
        return self.sim.webhook_key.sign(timestamp.encode("ascii") + body).hex()

    async def post(
        self, body: bytes, *, signature: str | None = None, timestamp: str | None = None
    ) -> Sent:
        """One POST of `body`, signed (or with the `signature`/`timestamp` given)."""
        stamp = timestamp if timestamp is not None else str(int(self.sim.config.wall_clock()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Signature-Ed25519": signature if signature is not None else self.sign(stamp, body),
            "X-Signature-Timestamp": stamp,
        }
        started = time.monotonic()
        status: int | None = None
        async with httpx.AsyncClient() as client:
            try:
                response = await client.post(
                    self.url, content=body, headers=headers, timeout=self.timeout
                )
                status = response.status_code
            except httpx.HTTPError:
                status = None
        sent = Sent(body, status, time.monotonic() - started)
        self.sent.append(sent)
        return sent

    def body(self, event_type: str, data: Any) -> bytes:
        return orjson.dumps(
            {
                "version": 1,
                "application_id": self.sim.config.application_id,
                "type": 1,
                "event": {
                    "type": event_type,
                    "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
                    + f".{secrets.randbelow(10**6):06d}",
                    "data": data,
                },
            }
        )

    async def ping(self) -> Sent:
        body = {"version": 1, "application_id": self.sim.config.application_id, "type": 0}
        return await self.post(orjson.dumps(body))

    async def send(self, event_type: str, data: Any) -> Sent:
        return await self.post(self.body(event_type, data))

    async def resend(self, sent: Sent) -> Sent:
        """Discord's retry: the same body, signed anew."""
        return await self.post(sent.body)

    async def application_authorized(
        self, guild_id: str | None = "1100000000000000001", user_id: str = "1100000000000000003"
    ) -> Sent:
        data: dict[str, Any] = {
            "integration_type": 0 if guild_id else 1,
            "scopes": ["applications.commands", "bot"],
            "user": {"id": user_id, "username": "coach", "discriminator": "0", "avatar": None},
        }
        if guild_id:
            data["guild"] = {"id": guild_id, "name": "Draft League"}
        return await self.send("APPLICATION_AUTHORIZED", data)
