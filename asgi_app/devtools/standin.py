"""A stand-in for the main app's interaction endpoint, so forwarding has a target offline.

It checks the signature like the real main app must, then behaves as told: `ok` answers at
once and edits the deferred response through Discord's webhook route, `slow` waits 5 s first,
`fail` answers 500, `down` answers 503 (retried by the relay, then the user sees the error).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from asgi_app import validation as v
from asgi_app.http import App, HTTPError, Request, Response
from asgi_app.services import Services
from gateway.interactions.signatures import verify_signature

log = logging.getLogger("asgi_app.devtools")

Mode = Literal["ok", "slow", "fail", "down"]
MODES: tuple[Mode, ...] = ("ok", "slow", "fail", "down")
SLOW_SECONDS = 5.0
KINDS = ("command", "component", "modal", "autocomplete")
HANDLED_PREFIX = "Handled by the stand-in main app"


@dataclass
class Received:
    at: float
    kind: str
    interaction_id: str
    status: int
    signature_ok: bool


@dataclass
class StandIn:
    mode: Mode = "ok"
    received: list[Received] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def for_interaction(self, interaction_id: str) -> list[Received]:
        return [r for r in self.received if r.interaction_id == interaction_id]


MODE_BODY = v.object({"mode": v.enum(list(MODES))})


def register(app: App, services: Services, standin: StandIn) -> None:
    auth_token = services.settings.auth_token.get()

    async def edit_original(interaction: dict[str, Any], content: str) -> None:
        rest = services.rest
        application_id = interaction.get("application_id")
        if rest is None or application_id is None:
            return
        path = f"/webhooks/{application_id}/{interaction['token']}/messages/@original"
        try:
            await rest.request("PATCH", path, json={"content": content})
        except Exception:
            log.exception("stand-in main app could not edit the response")

    async def receive(req: Request, res: Response) -> None:
        kind = req.path_params["kind"]
        if kind not in KINDS:
            raise HTTPError(404, "Unknown interaction kind")
        body = await req.body()
        signed = verify_signature(
            auth_token,
            req.headers.get("x-signature-timestamp") or "",
            body,
            req.headers.get("x-signature-sha256") or "",
        )
        authorized = req.headers.get("authorization") == auth_token
        interaction = await req.json()
        mode = standin.mode
        status = 401 if not (signed and authorized) else {"fail": 500, "down": 503}.get(mode, 200)
        standin.received.append(
            Received(time.monotonic(), kind, str(interaction.get("id")), status, signed)
        )
        if status != 200:
            raise HTTPError(status, "The stand-in main app was told to fail")
        if mode == "slow":
            await asyncio.sleep(SLOW_SECONDS)
        if kind == "autocomplete":
            typed = str(interaction["data"]["options"][0].get("value", ""))
            names = ["Pikachu", "Pichu", "Raichu", "Piplup", "Pidgey"]
            choices = [{"name": n, "value": n.lower()} for n in names if typed.lower() in n.lower()]
            res.json({"choices": choices})
            return
        name = interaction.get("data", {}).get("name") or interaction.get("data", {}).get(
            "custom_id"
        )
        task = asyncio.create_task(edit_original(interaction, f"{HANDLED_PREFIX}: {name}"))
        standin.tasks.add(task)
        task.add_done_callback(standin.tasks.discard)
        res.json({"ok": True})

    async def set_mode(req: Request, res: Response) -> None:
        standin.mode = req.body_value["mode"]
        res.json({"mode": standin.mode})

    async def get_mode(req: Request, res: Response) -> None:
        res.json({"mode": standin.mode, "modes": list(MODES)})

    app.post("/api/discord/interactions/{kind}", receive, summary="Stand-in main app", tags=["dev"])
    app.get("/dev/main-app", get_mode, summary="Stand-in main app mode", tags=["dev"])
    app.post("/dev/main-app", set_mode, body=MODE_BODY, summary="Set its mode", tags=["dev"])
