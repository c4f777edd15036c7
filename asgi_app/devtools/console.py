"""GET /dev: a page that fires interactions through the simulator; POST /dev/fire does it and
answers with what happened (the defer, the forward, the edit or the error message)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

from asgi_app import validation as v
from asgi_app.devtools.common import relay_of, simulator_of
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


def _callback_step(body: dict[str, Any]) -> tuple[str, str, bool]:
    """(step, detail, whether it is the whole answer) of a first response."""
    kind = int(body.get("type", 0))
    given = body.get("data")
    data: dict[str, Any] = given if isinstance(given, dict) else {}
    private = bool(int(data.get("flags") or 0) & 64)
    if kind == 5:
        return "acknowledged", "deferred (type 5" + (", private)" if private else ")"), False
    if kind == 6:
        return "acknowledged", "deferred update (type 6)", False
    if kind == 8:
        return "acknowledged", f"autocomplete choices: {len(data.get('choices', []))}", True
    if kind == 9:
        return "first response", f"modal opened (type 9): {data.get('title', '')}", True
    if kind == 7:
        return "first response", f"message updated (type 7): {data.get('content', '')}", True
    if kind == 4:
        where = "private reply" if private else "reply"
        return "first response", f"{where} (type 4): {data.get('content', '')}", True
    return "acknowledged", f"callback type {kind}", False


def _webhook_step(services: Services, method: str, body: dict[str, Any]) -> str:
    content = str(body.get("content", ""))
    settings = services.settings
    if content == settings.interaction_error_message:
        label = "error shown to the user"
    elif (relay := relay_of(services)) is not None and content == relay.late_message:
        label = "late modal: the user is asked to try again"
    elif content.startswith(HANDLED_PREFIX):
        label = "response edited by the main app"
    else:
        label = "main app's late answer delivered"
    if method == "POST":
        label = "ephemeral follow-up: " + label if body.get("flags") else "follow-up: " + label
    return f"{label}: {content}"


def _timeline(
    services: Services, sim: DiscordSimulator, standin: StandIn, interaction: dict[str, Any]
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
            step, detail, whole = _callback_step(body)
            if call.status is not None and call.status >= 400:
                detail += f", refused by Discord ({call.status})"
            else:
                acknowledged = True
                answered = answered or whole
            steps.append((call.at, {"step": step, "detail": detail}))
        else:
            detail = _webhook_step(services, call.method, body)
            steps.append((call.at, {"step": "outcome", "detail": detail}))
            answered = True
    for received in standin.for_interaction(str(interaction["id"])):
        detail = f"/{received.kind} answered {received.status}"
        entry = {"step": "forwarded", "detail": detail, "response_mode": received.response_mode}
        steps.append((received.at, entry))
    steps.sort(key=lambda item: item[0])
    finished = acknowledged and answered
    return finished, [{"ms": round((at - start) * 1000, 1), **step} for at, step in steps]


def register(app: App, services: Services, standin: StandIn) -> None:
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
        res.json({"url": view_url(services.settings.view_secrets[0], name)})

    async def fire(req: Request, res: Response) -> None:
        sim = simulator_of(services)
        kind = req.body_value["kind"]
        interaction = await sim.send_interaction(_BUILDERS[kind]())
        deadline = time.monotonic() + OUTCOME_TIMEOUT
        finished, steps = False, list[dict[str, Any]]()
        while time.monotonic() < deadline:
            finished, steps = _timeline(services, sim, standin, interaction)
            if finished:
                break
            await asyncio.sleep(0.05)
        res.json(
            {
                "kind": kind,
                "interaction_id": interaction["id"],
                "main_app_mode": standin.mode,
                "response_mode": relay.policy.default.value
                if (relay := relay_of(services))
                else None,
                "finished": finished,
                "steps": steps,
            }
        )

    app.get("/dev", page, summary="Development console", tags=["dev"])
    app.get("/dev/console.js", script, summary="Development console script", tags=["dev"])
    app.get("/dev/console.css", style, summary="Development console style", tags=["dev"])
    app.get("/dev/overlay-link", overlay_link, summary="OBS page URL with its key", tags=["dev"])
    app.post("/dev/fire", fire, body=FIRE_BODY, summary="Fire an interaction", tags=["dev"])
