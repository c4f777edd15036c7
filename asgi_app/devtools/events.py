"""Development: the stand-in main app's events endpoint and the console's event controls.

`POST /api/discord/events` is where EVENTS_URL points in development: it checks both
signatures like the real main app must and answers as told (`ok` 200; `fail` 500, retried;
`reject` 400, a dead letter at once). `POST /dev/event {"kind"}` makes the simulator dispatch
one event (or send one Webhook Event, signed with its key) and answers with what happened:
dispatched or withheld (a missing intent), each attempt and its answer, the outcome.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import orjson

from asgi_app import validation as v
from asgi_app.devtools.common import keep, read_delivery, simulator_of
from asgi_app.http import App, HTTPError, Request, Response
from asgi_app.services import Services
from gateway.events.model import gateway_event_id, session_key, webhook_event_id
from gateway.simulator import DiscordSimulator
from gateway.simulator.guild_events import Sent

EventsMode = Literal["ok", "fail", "reject"]
EVENTS_MODES: tuple[EventsMode, ...] = ("ok", "fail", "reject")
STATUS = {"ok": 200, "fail": 500, "reject": 400}
WEBHOOK = "WEBHOOK_EVENT"
#: Longest a fire waits for the outcome (a failing main app: attempts at 0, 1, 3, 7 s).
OUTCOME_TIMEOUT = 8.0


@dataclass
class EventPost:
    at: float  # unix seconds
    delivery_id: str
    attempt: int
    status: int
    events: list[dict[str, str]]  # id and type of each
    signature_ok: bool


@dataclass
class EventInbox:
    mode: EventsMode = "ok"
    received: list[EventPost] = field(default_factory=list)

    def for_event(self, event_id: str) -> list[EventPost]:
        return [p for p in self.received if any(e["id"] == event_id for e in p.events)]


Fire = Callable[[DiscordSimulator], Awaitable[Sent | None]]
_FIRES: dict[str, Fire] = {
    "GUILD_MEMBER_ADD": lambda sim: sim.guild_events.member_add(),
    "GUILD_MEMBER_REMOVE": lambda sim: sim.guild_events.member_remove(),
    "MESSAGE_CREATE": lambda sim: sim.guild_events.message_create(),
    "MESSAGE_UPDATE": lambda sim: sim.guild_events.message_update(),
    "MESSAGE_DELETE": lambda sim: sim.guild_events.message_delete(),
    "MESSAGE_REACTION_ADD": lambda sim: sim.guild_events.reaction_add(),
    "MESSAGE_REACTION_REMOVE": lambda sim: sim.guild_events.reaction_remove(),
    "VOICE_STATE_UPDATE": lambda sim: sim.guild_events.voice_state_update(),
}
#: What the console can fire: each dispatch above, and a Webhook Event.
KINDS = (*_FIRES, WEBHOOK)
FIRE = v.object({"kind": v.enum(list(KINDS))})
MODE = v.object({"mode": v.enum(list(EVENTS_MODES))})


def register(app: App, services: Services) -> EventInbox:
    inbox = EventInbox()

    async def receive(req: Request, res: Response) -> None:
        post = await read_delivery(services, req)
        status = STATUS[inbox.mode] if post.signed else 401
        events = orjson.loads(post.body).get("events", [])
        keep(
            inbox.received,
            EventPost(
                at=post.at,
                delivery_id=post.delivery_id,
                attempt=post.attempt,
                status=status,
                events=[{"id": str(e.get("id")), "type": str(e.get("type"))} for e in events],
                signature_ok=post.signed,
            ),
        )
        if status != 200:
            raise HTTPError(status, "The stand-in main app was told to refuse events")
        res.json({"ok": True})

    async def fire(req: Request, res: Response) -> None:
        sim = simulator_of(services)
        kind = req.body_value["kind"]
        started = time.time()
        steps: list[dict[str, Any]] = []
        event_id = await _fire(sim, kind, steps, services)
        if event_id is not None:
            await _follow(services, inbox, event_id, started, steps)
        res.json({"kind": kind, "event_id": event_id, "main_app_mode": inbox.mode, "steps": steps})

    async def state(req: Request, res: Response) -> None:
        events = services.running.events
        res.json(
            {
                "mode": inbox.mode,
                "modes": list(EVENTS_MODES),
                "kinds": list(KINDS),
                "forwarded": list(events.forwards.filters),
                "dead_letters": len(events.dead),
                "received": [asdict(p) for p in inbox.received],
            }
        )

    async def set_mode(req: Request, res: Response) -> None:
        inbox.mode = req.body_value["mode"]
        res.json({"mode": inbox.mode})

    tags = ["dev"]
    app.post("/api/discord/events", receive, summary="Stand-in main app: events", tags=tags)
    app.get("/dev/events", state, summary="Event kinds, forwards and deliveries", tags=tags)
    app.post("/dev/events/mode", set_mode, body=MODE, summary="How events are answered", tags=tags)
    app.post("/dev/event", fire, body=FIRE, summary="Fire an event", tags=tags)
    return inbox


async def _fire(
    sim: DiscordSimulator, kind: str, steps: list[dict[str, Any]], services: Services
) -> str | None:
    """Dispatch (or send) one event of `kind`; its id, or None (the steps say why)."""
    if kind == WEBHOOK:
        url = services.settings.origin_url + "/webhook-events"
        sent = await sim.webhook_events(url).application_authorized()
        event = orjson.loads(sent.body)["event"]
        steps.append(
            {"step": "sent", "detail": f"Webhook Event APPLICATION_AUTHORIZED: {sent.status}"}
        )
        return webhook_event_id(event) if sent.status == 204 else None
    forwarded = kind in services.running.events.forwards.filters
    result = await _FIRES[kind](sim)
    if result is None:
        reason = sim.guild_events.withheld[-1][1] if sim.guild_events.withheld else "no session"
        steps.append({"step": "not dispatched", "detail": f"Discord withholds it: {reason}"})
        return None
    detail = f"{kind} seq {result.seq} on shard {result.shard_id}"
    if kind.startswith("MESSAGE_") and "content" in result.data:
        detail += f", content {result.data['content']!r}"
    steps.append({"step": "dispatched", "detail": detail})
    if not forwarded:
        steps.append({"step": "not forwarded", "detail": f"EVENT_FORWARDS has no {kind}"})
        return None
    session = sim.session(result.shard_id)
    if session is None:
        return None
    return gateway_event_id(session_key(session.session_id), result.seq)


async def _follow(
    services: Services, inbox: EventInbox, event_id: str, started: float, steps: list[Any]
) -> None:
    """Wait for the event's outcome; add each attempt and the outcome to `steps`."""
    deadline = time.monotonic() + OUTCOME_TIMEOUT
    outcome = "still retrying (see GET /events/dead later)"
    while time.monotonic() < deadline:
        if any(p.status == 200 for p in inbox.for_event(event_id)):
            outcome = "delivered"
            break
        if event_id in services.running.events.dead:
            outcome = "dead letter: GET /events/dead lists it, POST /events/dead/replay retries"
            break
        await asyncio.sleep(0.05)
    for post in inbox.for_event(event_id):
        steps.append(
            {
                "step": "attempt",
                "ms": round((post.at - started) * 1000, 1),
                "detail": f"POST /api/discord/events attempt {post.attempt} answered"
                f" {post.status} (X-Delivery-Id {post.delivery_id},"
                f" {len(post.events)} event(s))",
            }
        )
    steps.append({"step": "outcome", "detail": outcome})
