"""GET /interactions/public-key (the forwards' Ed25519 public key) and, when DISCORD_PUBLIC_KEY
is set, POST /interactions: Discord's HTTP delivery of interactions (CONTRACT.md, "The HTTP
interactions endpoint")."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from asgi_app.http import App, HTTPError, Request, Response, decode_json
from asgi_app.services import Services
from gateway.delivery.signatures import load_public_key, verify_ed25519
from gateway.interactions.model import Interaction, InteractionType
from gateway.interactions.relay import InteractionRelay
from gateway.interactions.responder import HttpAnswerResponder
from gateway.interactions.stats import RelayResult

#: The one thing a refused signature is told (missing, malformed, wrong or stale alike).
BAD_SIGNATURE = "invalid request signature"
#: Discord waits this long for the answer; it leaves ANSWER_MARGIN before, to be written.
ANSWER_WINDOW = 3.0
ANSWER_MARGIN = 0.2
NOT_ADMITTED = "The interaction was not admitted (handled before, or too old)"


def register(app: App, services: Services) -> None:
    async def public_key(req: Request, res: Response) -> None:
        res.json({"public_key": services.running.signing_public_key})

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
        received = time.monotonic()
        body = await req.body()
        headers = req.headers
        if not verify_ed25519(
            key, headers.get("x-signature-timestamp"), body, headers.get("x-signature-ed25519")
        ):
            raise HTTPError(401, BAD_SIGNATURE)
        obj = decode_json(body)  # 400 when not JSON or nested too deep
        if isinstance(obj, dict) and obj.get("type") == InteractionType.PING:
            res.json({"type": 1})  # Discord checking the endpoint
            return
        interaction = Interaction.parse(obj, body)
        if interaction is None:
            raise HTTPError(400, "The body is not an interaction")
        discord = services.running.discord
        relay = discord.relay if discord is not None else None
        answer = await answer_discord_post(relay, interaction, received)
        res.json(answer)

    app.post(
        "/interactions",
        interactions,
        summary="Discord's HTTP interactions (Ed25519-signed with DISCORD_PUBLIC_KEY)",
        tags=["interactions"],
    )


async def answer_discord_post(
    relay: InteractionRelay | None, interaction: Interaction, received: float
) -> dict[str, Any]:
    """The interaction through the relay's pipeline, its first response being the answer to
    Discord's POST (`HttpAnswerResponder`): returned within ANSWER_WINDOW of `received`
    (monotonic), or an HTTPError."""
    if relay is None:
        raise HTTPError(503, "The interaction relay is not running")
    responder = HttpAnswerResponder()
    task = relay.submit(interaction, responder)
    if task is None:
        raise HTTPError(409, NOT_ADMITTED)
    timeout = received + ANSWER_WINDOW - ANSWER_MARGIN - time.monotonic()
    answer = asyncio.ensure_future(responder.answer(timeout))
    try:
        # The relay may end without a first response (journaled before, a relay error).
        await asyncio.wait((answer, task), return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not answer.done():
            answer.cancel()
    body = answer.result() if answer.done() and not answer.cancelled() else None
    if body is not None:
        responder.sent(True)
        return body
    responder.sent(False)  # a send() still to come learns it failed: nothing is forwarded
    if (
        task.done()
        and not task.cancelled()
        and not task.exception()
        and task.result() is RelayResult.DROPPED
    ):
        raise HTTPError(409, NOT_ADMITTED)
    raise HTTPError(503, "No first response within Discord's 3 seconds")
