"""GET /interactions/public-key (the forwards' Ed25519 public key) and, when DISCORD_PUBLIC_KEY
is set, POST /interactions: Discord's HTTP delivery of interactions (CONTRACT.md, "The HTTP
interactions endpoint")."""

from __future__ import annotations

import orjson

from asgi_app.http import App, HTTPError, Request, Response
from asgi_app.services import Services
from gateway.interactions.signatures import load_public_key, verify_ed25519

#: The one thing a refused signature is told (missing, malformed, wrong or stale alike).
BAD_SIGNATURE = "invalid request signature"


def register(app: App, services: Services) -> None:
    async def public_key(req: Request, res: Response) -> None:
        if services.signing_public_key is None:
            raise HTTPError(503, "The signing key is not loaded yet")
        res.json({"public_key": services.signing_public_key})

    app.get(
        "/interactions/public-key",
        public_key,
        summary="The Ed25519 public key that verifies X-Signature-Ed25519 of the forwards",
        tags=["interactions"],
    )
    if services.settings.discord_public_key:
        register_endpoint(app, services, services.settings.discord_public_key)


def register_endpoint(app: App, services: Services, discord_public_key: str) -> None:
    key = load_public_key(discord_public_key)

    async def interactions(req: Request, res: Response) -> None:
        body = await req.body()
        headers = req.headers
        if not verify_ed25519(
            key, headers.get("x-signature-timestamp"), body, headers.get("x-signature-ed25519")
        ):
            raise HTTPError(401, BAD_SIGNATURE)
        try:
            interaction = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise HTTPError(400, "The body is not valid JSON") from None
        if not isinstance(interaction, dict) or not isinstance(interaction.get("type"), int):
            raise HTTPError(400, "The body is not an interaction")
        if interaction["type"] == 1:  # PING: Discord checking the endpoint
            res.json({"type": 1})
            return
        raise HTTPError(501, "Interactions other than PING are not handled yet")

    app.post(
        "/interactions",
        interactions,
        summary="Discord's HTTP interactions (Ed25519-signed with DISCORD_PUBLIC_KEY)",
        tags=["interactions"],
    )
