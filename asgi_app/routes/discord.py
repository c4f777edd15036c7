"""GET/POST/DELETE /discord and POST /discord/presence: control of the gateway."""

from __future__ import annotations

import asyncio

from asgi_app import validation as v
from asgi_app.http import HTTPError, Request, Response, RouteRegistrar
from asgi_app.services import Discord, Services
from gateway.connection.shard import ShardNotReady

#: How long a presence update may wait for the gateway's send limiter before answering 429.
PRESENCE_SEND_WAIT_SECONDS = 2.0
PRESENCE_RETRY_AFTER_SECONDS = 10

PRESENCE = v.object(
    {
        "status": v.enum(["online", "idle", "dnd", "invisible"]),
        "type": v.int().min(0).max(5),
        "name": v.string().min(1).max(128),
    }
).strict()


def register(guarded: RouteRegistrar, services: Services) -> None:
    """The gateway control routes, all protected: registered on the guarded group."""

    def discord() -> Discord:
        parts = services.running.discord
        if parts is None:
            raise HTTPError(409, "The Discord gateway is not configured (no BOT_TOKEN)")
        return parts

    async def status(req: Request, res: Response) -> None:
        summary = services.discord_summary()
        res.json({k: summary[k] for k in ("status", "reason", "identify_wait") if k in summary})

    async def connect(req: Request, res: Response) -> None:
        parts = discord()
        manager, rest = parts.gateway, parts.rest
        if rest.failed:  # the bot token was refused: ask Discord again
            works = await rest.check_token("POST /discord")
            if works is None:
                raise HTTPError(502, "Discord could not be reached to check the bot token")
            if not works:
                raise HTTPError(502, "Discord still refuses the bot token (401 on GET /users/@me)")
        restarting = manager.status() != "idle"
        if restarting:
            await manager.restart(resumable=True)
        else:
            await manager.start()
        res.status(202).json({"ok": True, "action": "restart" if restarting else "connect"})

    async def disconnect(req: Request, res: Response) -> None:
        manager = discord().gateway
        if manager.status() == "idle":
            raise HTTPError(400, "The gateway is not connected")
        await manager.stop(resumable=False)
        res.json({"ok": True, "status": manager.status()})

    async def presence(req: Request, res: Response) -> None:
        body = req.body_value
        update = discord().gateway.update_presence(body["status"], body["type"], body["name"])
        try:
            # The gateway allows ~115 ordinary sends a minute per connection; past that the
            # send waits for the window. An HTTP request is not held that long: 429 instead.
            sent = await asyncio.wait_for(update, PRESENCE_SEND_WAIT_SECONDS)
        except ShardNotReady as exc:
            raise HTTPError(409, "No shard is ready to take a presence update") from exc
        except TimeoutError as exc:
            raise HTTPError(
                429,
                "The gateway's send limit is reached; retry the presence update later",
                headers={"Retry-After": str(PRESENCE_RETRY_AFTER_SECONDS)},
            ) from exc
        res.json({"ok": True, "shards": sent})

    tags = ("discord",)
    guarded.get("/discord", status, summary="Gateway status", tags=tags)
    guarded.post("/discord", connect, summary="Connect, or restart if connected", tags=tags)
    guarded.delete("/discord", disconnect, summary="Disconnect the gateway", tags=tags)
    guarded.post(
        "/discord/presence",
        presence,
        body=PRESENCE,
        summary="Set the bot's presence (op 3)",
        tags=tags,
    )
