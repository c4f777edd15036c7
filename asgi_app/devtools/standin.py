"""A stand-in for the main app's interaction endpoint, so forwarding has a target offline.

It checks both signatures like the real main app must (HMAC with AUTH_TOKEN, Ed25519 with
this server's public key; no Authorization header is needed), then behaves as told: `ok` answers at
once and edits the deferred response through Discord's webhook route, `slow` waits 5 s first,
`fail` answers 500, `down` answers 503 (retried by the relay, then the user sees the error).
With an interaction response in its answer (CONTRACT step 4): `private` replies privately
(type 4, ephemeral), `modal` opens a modal (type 9), `update` updates the component's message
in place (type 7; a command gets a type 4), `late` answers privately after the response
window (delivered as an edit or follow-up). The answers are the first response in `respond`
mode (the console switches it: `POST /dev/main-app {"response": "respond"}`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from asgi_app import validation as v
from asgi_app.devtools.common import relay_of, signed_by_this_server
from asgi_app.http import App, HTTPError, Request, Response
from asgi_app.services import Services
from gateway.interactions.policy import Mode as PolicyMode

log = logging.getLogger("asgi_app.devtools")

Mode = Literal["ok", "slow", "fail", "down", "private", "modal", "update", "late"]
MODES: tuple[Mode, ...] = ("ok", "slow", "fail", "down", "private", "modal", "update", "late")
SLOW_SECONDS = 5.0
#: `late`: this long after the response window ends.
LATE_AFTER_WINDOW = 1.0
KINDS = ("command", "component", "modal", "autocomplete")
HANDLED_PREFIX = "Handled by the stand-in main app"


@dataclass
class Received:
    at: float
    kind: str
    interaction_id: str
    status: int
    signature_ok: bool
    response_mode: str = ""  # X-Response-Mode of the forward


@dataclass
class StandIn:
    mode: Mode = "ok"
    received: list[Received] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def for_interaction(self, interaction_id: str) -> list[Received]:
        return [r for r in self.received if r.interaction_id == interaction_id]


MODE_BODY = v.object(
    {
        "mode": v.enum(list(MODES)).optional(),
        "response": v.enum([m.value for m in PolicyMode]).optional(),
    }
)


def answer_for(mode: Mode, kind: str, name: str) -> dict[str, Any] | None:
    """The interaction response the stand-in answers with in `mode` (None: it edits itself)."""
    private = {
        "type": 4,
        "data": {"content": f"{HANDLED_PREFIX}: {name} (only you see this)", "flags": 64},
    }
    if mode in ("private", "late") or (mode == "modal" and kind == "modal"):
        return private
    if mode == "modal":
        row = {
            "type": 1,
            "components": [{"type": 4, "custom_id": "offer", "label": "Your offer", "style": 1}],
        }
        return {
            "type": 9,
            "data": {"custom_id": "trade:form", "title": "Propose a trade", "components": [row]},
        }
    if mode == "update":
        if kind != "component":
            return private  # only a component's message can be updated in place
        return {"type": 7, "data": {"content": f"{HANDLED_PREFIX}: {name} (message updated)"}}
    return None


def register(app: App, services: Services, standin: StandIn) -> None:
    async def edit_original(interaction: dict[str, Any], content: str) -> None:
        discord = services.running.discord
        application_id = interaction.get("application_id")
        if discord is None or application_id is None:
            return
        rest = discord.rest
        path = f"/webhooks/{application_id}/{interaction['token']}/messages/@original"
        try:
            await rest.request("PATCH", path, json={"content": content})
        except Exception:
            log.exception("stand-in main app could not edit the response")

    async def receive(req: Request, res: Response) -> None:
        kind = req.path_params["kind"]
        if kind not in KINDS:
            raise HTTPError(404, "Unknown interaction kind")
        signed = signed_by_this_server(services, req, await req.body())
        interaction = await req.json()
        mode = standin.mode
        status = 401 if not signed else {"fail": 500, "down": 503}.get(mode, 200)
        standin.received.append(
            Received(
                time.monotonic(),
                kind,
                str(interaction.get("id")),
                status,
                signed,
                req.headers.get("x-response-mode") or "",
            )
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
        answer = answer_for(mode, kind, str(name))
        if answer is not None:
            relay = relay_of(services)
            if mode == "late" and relay is not None:
                await asyncio.sleep(relay.window + LATE_AFTER_WINDOW)
            res.json(answer)
            return
        task = asyncio.create_task(edit_original(interaction, f"{HANDLED_PREFIX}: {name}"))
        standin.tasks.add(task)
        task.add_done_callback(standin.tasks.discard)
        res.json({"ok": True})

    def response_mode() -> str | None:
        relay = relay_of(services)
        return relay.policy.default.value if relay is not None else None

    async def set_mode(req: Request, res: Response) -> None:
        body = req.body_value
        changed: dict[str, Any] = {}  # what was set, as it is now
        if body.get("mode") is not None:
            standin.mode = changed["mode"] = body["mode"]
        if body.get("response") is not None:
            relay = relay_of(services)
            if relay is None:
                raise HTTPError(409, "The interaction relay is not running")
            # development only: the relay's default mode (INTERACTION_RESPONSE) for this run
            relay.policy.default = PolicyMode(body["response"])
            changed["response"] = response_mode()
        res.json(changed)

    async def get_mode(req: Request, res: Response) -> None:
        res.json({"mode": standin.mode, "modes": list(MODES), "response": response_mode()})

    app.post("/api/discord/interactions/{kind}", receive, summary="Stand-in main app", tags=["dev"])
    app.get("/dev/main-app", get_mode, summary="Stand-in main app mode", tags=["dev"])
    app.post("/dev/main-app", set_mode, body=MODE_BODY, summary="Set its mode", tags=["dev"])
