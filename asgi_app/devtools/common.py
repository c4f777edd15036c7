"""What the dev tools' endpoints share: the stand-in main app's reading of what this server
POSTs to it (interactions, events and timers: both signatures checked as the real main app must
check them, the delivery's headers, the last ones kept for the console) and the simulator the
console's buttons fire through."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TypeVar

from asgi_app.http import HTTPError, Request
from asgi_app.services import Services
from gateway.delivery.signatures import verify_ed25519, verify_signature
from gateway.interactions.relay import InteractionRelay
from gateway.simulator import DiscordSimulator

#: Deliveries each console panel keeps.
KEEP = 50

T = TypeVar("T")


def signed_by_this_server(services: Services, req: Request, body: bytes) -> bool:
    """Both signatures check: the HMAC keyed with AUTH_TOKEN and the Ed25519 signature of this
    server's forward key (no Authorization header is needed)."""
    stamp = req.headers.get("x-signature-timestamp") or ""
    hmac = req.headers.get("x-signature-sha256") or ""
    key = services.running.signing_key
    return verify_signature(services.settings.auth_token.get(), stamp, body, hmac) and (
        verify_ed25519(key.public_key(), stamp, body, req.headers.get("x-signature-ed25519"))
    )


@dataclass(frozen=True)
class SignedPost:
    """A delivery from this server's signed sender (events, timers) as it arrived."""

    at: float  # unix seconds
    body: bytes
    signed: bool
    delivery_id: str  # X-Delivery-Id: the same on every attempt
    attempt: int  # X-Delivery-Attempt


async def read_delivery(services: Services, req: Request) -> SignedPost:
    body = await req.body()
    return SignedPost(
        at=time.time(),
        body=body,
        signed=signed_by_this_server(services, req, body),
        delivery_id=req.headers.get("x-delivery-id") or "",
        attempt=int(req.headers.get("x-delivery-attempt") or 0),
    )


def keep(received: list[T], item: T) -> None:
    """Add `item`; only the last KEEP stay."""
    received.append(item)
    del received[:-KEEP]


def relay_of(services: Services) -> InteractionRelay | None:
    """The interaction relay, None without a gateway."""
    discord = services.running.discord
    return discord.relay if discord is not None else None


def simulator_of(services: Services) -> DiscordSimulator:
    """The embedded simulator the console fires through; 409 when there is none."""
    discord = services.running.discord
    if discord is None or discord.simulator is None:
        raise HTTPError(409, "The Discord simulator is not running (BOT_TOKEN is set)")
    return discord.simulator
