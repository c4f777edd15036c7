"""GET /dev: a page that fires interactions through the simulator; POST /dev/fire does it and
answers with what happened (the defer, the forward, the edit or the error message)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

from asgi_app import validation as v
from asgi_app.devtools.standin import HANDLED_PREFIX, KINDS, StandIn
from asgi_app.http import App, HTTPError, Request, Response
from asgi_app.overlay.state import valid_name, view_url
from asgi_app.services import Services
from gateway.simulator import DiscordSimulator, factory

#: Longest a fire waits for the outcome: slow main app (5 s) or three attempts with backoff.
OUTCOME_TIMEOUT = 30.0

FIRE_BODY = v.object({"kind": v.enum(list(KINDS))})

_BUILDERS: dict[str, Callable[[], dict[str, Any]]] = {
    "command": lambda: factory.command("draft"),
    "component": lambda: factory.component("pick:blue"),
    "modal": lambda: factory.modal_submit("trade:modal"),
    "autocomplete": lambda: factory.autocomplete("draft", "pokemon", "pi"),
}


def _static(name: str) -> bytes:
    return resources.files("asgi_app.devtools").joinpath("static", name).read_bytes()


def _timeline(
    sim: DiscordSimulator, standin: StandIn, interaction: dict[str, Any]
) -> tuple[bool, list[dict[str, Any]]]:
    """(finished, steps) for one interaction, from what the simulator and stand-in saw."""
    record = sim.interaction(str(interaction["id"]))
    token = str(interaction["token"])
    steps: list[tuple[float, dict[str, Any]]] = []
    start = record.sent_at if record is not None and record.sent_at is not None else None
    if start is None:
        return False, []
    steps.append((start, {"step": "dispatched", "detail": "INTERACTION_CREATE sent"}))
    acknowledged = answered = False
    for call in sim.rest.requests:
        if token not in call.path:
            continue
        body = call.json if isinstance(call.json, dict) else {}
        if call.path.endswith("/callback"):
            acknowledged = True
            kind = int(body.get("type", 0))
            detail = {5: "deferred (type 5)", 6: "deferred update (type 6)"}.get(
                kind, f"callback type {kind}"
            )
            if kind == 8:
                detail = f"autocomplete choices: {len(body.get('data', {}).get('choices', []))}"
            # An autocomplete answer or the cooldown reply is the whole exchange.
            answered = answered or kind in (4, 8)
            steps.append((call.at, {"step": "acknowledged", "detail": detail}))
        else:
            content = str(body.get("content", ""))
            handled = content.startswith(HANDLED_PREFIX)
            label = "response edited by the main app" if handled else "error shown to the user"
            if call.method == "POST":
                label = "ephemeral follow-up: " + label
            steps.append((call.at, {"step": "outcome", "detail": f"{label}: {content}"}))
            answered = True
    for received in standin.for_interaction(str(interaction["id"])):
        steps.append(
            (
                received.at,
                {"step": "forwarded", "detail": f"/{received.kind} answered {received.status}"},
            )
        )
    steps.sort(key=lambda item: item[0])
    finished = acknowledged and answered
    return finished, [{"ms": round((at - start) * 1000, 1), **step} for at, step in steps]


def register(app: App, services: Services, standin: StandIn) -> None:
    def simulator() -> DiscordSimulator:
        if services.simulator is None:
            raise HTTPError(409, "The Discord simulator is not running (BOT_TOKEN is set)")
        return services.simulator

    async def page(req: Request, res: Response) -> None:
        res.send(_static("console.html"), "text/html; charset=utf-8")

    async def script(req: Request, res: Response) -> None:
        res.send(_static("console.js"), "text/javascript; charset=utf-8")

    async def style(req: Request, res: Response) -> None:
        res.send(_static("console.css"), "text/css; charset=utf-8")

    async def overlay_link(req: Request, res: Response) -> None:
        name = req.query_param("name") or "default"
        if not valid_name(name):
            raise HTTPError(404, "No such overlay name")
        res.json({"url": view_url(services.settings.auth_token.get(), name)})

    async def fire(req: Request, res: Response) -> None:
        sim = simulator()
        kind = req.body_value["kind"]
        interaction = await sim.send_interaction(_BUILDERS[kind]())
        deadline = time.monotonic() + OUTCOME_TIMEOUT
        finished, steps = False, list[dict[str, Any]]()
        while time.monotonic() < deadline:
            finished, steps = _timeline(sim, standin, interaction)
            if finished:
                break
            await asyncio.sleep(0.05)
        res.json(
            {
                "kind": kind,
                "interaction_id": interaction["id"],
                "main_app_mode": standin.mode,
                "finished": finished,
                "steps": steps,
            }
        )

    app.get("/dev", page, summary="Development console", tags=["dev"])
    app.get("/dev/console.js", script, summary="Development console script", tags=["dev"])
    app.get("/dev/console.css", style, summary="Development console style", tags=["dev"])
    app.get("/dev/overlay-link", overlay_link, summary="OBS page URL with its key", tags=["dev"])
    app.post("/dev/fire", fire, body=FIRE_BODY, summary="Fire an interaction", tags=["dev"])
