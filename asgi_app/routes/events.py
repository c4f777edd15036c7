"""Events for the main app (CONTRACT "Gateway events for the main app"): the dead letters
(protected: GET /events/dead, POST /events/dead/replay, DELETE /events/dead) and Discord's
Webhook Events (POST /webhook-events, public, Ed25519-verified exactly like POST
/interactions). The events themselves are `gateway.events` (`services.running.events`). With several
nodes on one Redis the dead letters are every node's: any node lists, replays (the events then
delivered by that node) and forgets the same ones."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

from asgi_app import validation as v
from asgi_app.http import App, HTTPError, Request, Response, RouteRegistrar, decode_json
from asgi_app.routes.interactions import BAD_SIGNATURE
from asgi_app.services import Services
from gateway.delivery.signatures import load_public_key, verify_ed25519
from gateway.events.service import EventService
from gateway.journal.events import WebhookClaim

#: How long POST /webhook-events waits for the event to be journaled before its 204.
JOURNAL_WAIT = 2.0
#: A Webhook Event another node has claimed and not yet journaled: asked again after (s).
BUSY_RETRY_AFTER = 5
RETRY_AFTER_SECONDS = 1
MAX_IDS = 10_000
T = TypeVar("T")

IDS = v.object({"ids": v.array(v.string().min(1).max(200)).max(MAX_IDS).optional()})


def register(app: App, guarded: RouteRegistrar, services: Services) -> None:
    def events() -> EventService:
        """The running events; idle when none are configured (no dead letter can exist: the
        routes answer as for an empty list)."""
        return services.running.events

    async def settled(work: Awaitable[T]) -> T:
        """A dead-letter operation, once the journal has written what came before it (503
        while it cannot write)."""
        try:
            return await work
        except TimeoutError:
            raise HTTPError(
                503,
                "The events journal cannot be written now",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ) from None

    async def dead(req: Request, res: Response) -> None:
        letters = await settled(events().dead_letters())
        res.json({"dead": letters, "count": len(letters)})

    async def replay(req: Request, res: Response) -> None:
        ids = req.body_value.get("ids")
        res.json({"replayed": await settled(events().replay(ids))})

    async def forget(req: Request, res: Response) -> None:
        body = await req.body()
        ids: list[str] | None = None
        if body.strip():
            result = IDS.safe_parse(decode_json(body))
            if result.error is not None or result.value is None:
                errors = result.error.to_list() if result.error is not None else []
                raise HTTPError(422, "The body does not match the schema", errors=errors)
            ids = result.value.get("ids")
        res.json({"forgotten": await settled(events().forget(ids))})

    tags = ("events",)
    guarded.get(
        "/events/dead",
        dead,
        summary="Dead letters: id, type, guild, attempts, last status, first and last attempt",
        tags=tags,
    )
    guarded.post(
        "/events/dead/replay",
        replay,
        body=IDS,
        summary='Queue dead letters again ({"ids": [...]}, or {} for all)',
        tags=tags,
    )
    guarded.delete(
        "/events/dead",
        forget,
        summary='Forget dead letters (all; or {"ids": [...]})',
        tags=tags,
    )
    if services.webhook_events_enabled:
        register_webhook_events(app, services)


def register_webhook_events(app: App, services: Services) -> None:
    """POST /webhook-events, verified with DISCORD_PUBLIC_KEY (in `make run` without one: the
    simulator's key)."""
    configured = services.settings.discord_public_key
    fixed = load_public_key(configured) if configured else None

    async def webhook_events(req: Request, res: Response) -> None:
        body = await req.body()
        key = fixed
        discord = services.running.discord
        if key is None and discord is not None and discord.simulator is not None:
            key = load_public_key(discord.simulator.webhook_public_key)
        headers = req.headers
        if key is None or not verify_ed25519(
            key, headers.get("x-signature-timestamp"), body, headers.get("x-signature-ed25519")
        ):
            raise HTTPError(401, BAD_SIGNATURE)
        obj: Any = decode_json(body)  # 400 when not JSON or nested too deep
        kind = obj.get("type") if isinstance(obj, dict) else None
        if kind == 0:  # PING: Discord checking the URL
            res.send_status(204)
            return
        if kind != 1:
            raise HTTPError(400, "The body is not a Webhook Event")
        service = services.running.events
        try:
            claim = await service.receive_webhook(obj)
        except ValueError:
            raise HTTPError(400, "The body is not a Webhook Event") from None
        if claim is WebhookClaim.BUSY:  # another node is journaling it: ask Discord again
            raise HTTPError(
                503,
                "This Webhook Event is being taken by another node",
                headers={"Retry-After": str(BUSY_RETRY_AFTER)},
            )
        if claim is WebhookClaim.NEW:
            try:  # journaled before the 204: Discord does not send it again
                await asyncio.wait_for(service.barrier(), JOURNAL_WAIT)
            except TimeoutError:
                pass  # queued all the same; written once the journal can
        res.send_status(204)

    app.post(
        "/webhook-events",
        webhook_events,
        summary="Discord's Webhook Events (Ed25519-signed): delivered with source webhook",
        tags=["events"],
    )
