"""Development: the stand-in main app's timer endpoint and the console's timer controls.

`POST /api/discord/timers` is where TIMERS_URL points in development (`{ORIGIN_URL}` is this
server): it checks both signatures like the real main app must, records the delivery and
answers 200. `POST /dev/timer` starts a 30 s pick timer with a reminder at 10 s on the
`default` overlay (so the OBS page counts it down); `GET /dev/timers` lists the dev timers and
what the stand-in received.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field

import orjson

from asgi_app.devtools.common import keep, read_delivery
from asgi_app.http import App, HTTPError, Request, Response
from asgi_app.routes.timers import spec_of
from asgi_app.services import Services
from gateway.timers.engine import TimerEngine

PICK_MS = 30_000
REMINDER_MS = 10_000
PREFIX = "dev:pick:"


@dataclass
class TimerDelivery:
    at: float  # unix seconds when it arrived
    timer_id: str
    kind: str
    delivery_id: str
    attempt: int
    late: bool
    due_at: int
    sent_at: int
    remaining_ms: int | None
    signature_ok: bool


@dataclass
class TimerInbox:
    received: list[TimerDelivery] = field(default_factory=list)
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))


def register(app: App, services: Services) -> TimerInbox:
    inbox = TimerInbox()

    async def receive(req: Request, res: Response) -> None:
        post = await read_delivery(services, req)
        if not post.signed:
            raise HTTPError(401, "The timer delivery is not signed by this server")
        data = orjson.loads(post.body)
        keep(
            inbox.received,
            TimerDelivery(
                at=post.at,
                timer_id=str(data.get("id")),
                kind=str(data.get("kind")),
                delivery_id=post.delivery_id,
                attempt=post.attempt,
                late=bool(data.get("late")),
                due_at=int(data.get("due_at") or 0),
                sent_at=int(data.get("sent_at") or 0),
                remaining_ms=data.get("remaining_ms"),
                signature_ok=post.signed,
            ),
        )
        res.json({"ok": True})

    def engine() -> TimerEngine:
        return services.running.timers.engine

    async def start(req: Request, res: Response) -> None:
        timers = engine()
        body = {
            "id": f"{PREFIX}{next(inbox.numbers)}",
            "duration_ms": PICK_MS,
            "reminders_ms": [REMINDER_MS],
            "overlay": "default",
            "payload": {"league": "dev", "pick": "next"},
        }
        timer, _ = await timers.create(spec_of(body))
        res.status(201).json(timer.view(timers.now()))

    async def listing(req: Request, res: Response) -> None:
        timers = engine()
        now = timers.now()
        res.json(
            {
                "server_now": now,
                "timers": [t.view(now) for t in timers.find(PREFIX)],
                "received": [asdict(r) for r in inbox.received],
            }
        )

    app.post("/api/discord/timers", receive, summary="Stand-in main app: timers", tags=["dev"])
    app.post("/dev/timer", start, summary="Start a 30 s pick timer", tags=["dev"])
    app.get("/dev/timers", listing, summary="Dev timers and their deliveries", tags=["dev"])
    return inbox
