"""League timers (CONTRACT "League timers"), all protected: POST/GET /timers, GET/DELETE
/timers/{id}, POST /timers/{id}/pause|resume|extend. The bodies are validated with the
project's schemas (every problem at its path, 422); the timers themselves are
`gateway.timers` (`services.running.timers`)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import orjson

from asgi_app import validation as v
from asgi_app.http import HTTPError, Request, Response, RouteRegistrar
from asgi_app.services import Services
from gateway.journal.timers import StoreUnavailable
from gateway.timers.engine import TimerEngine, TimerError
from gateway.timers.model import Timer, TimerSpec
from gateway.timers.quiet import MAX_QUIET_MINUTES, Quiet, valid_zone, window_minutes

ID_PATTERN = r"^[A-Za-z0-9:_.-]{1,100}$"
_ID = re.compile(ID_PATTERN)
_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
#: The longest clock (and the most one extend may add or take): a year and a day.
MAX_DURATION_MS = 366 * 24 * 3600 * 1000
#: 9999-12-31T23:59:59.999Z: the last instant a browser's Date and Python's datetime share.
MAX_FIRE_AT = 253_402_300_799_999
MAX_PAYLOAD_BYTES = 16 * 1024
MAX_REMINDERS = 10
RETRY_AFTER_SECONDS = 1
T = TypeVar("T")


def _payload_fits(payload: Any) -> bool:
    return len(orjson.dumps(payload)) <= MAX_PAYLOAD_BYTES


def _quiet_rules(quiet: Mapping[str, Any], report: v.Reporter) -> None:
    start, end = quiet.get("start"), quiet.get("end")
    if not isinstance(start, str) or not isinstance(end, str):
        return  # reported by their own schemas
    if not re.fullmatch(_HHMM, start) or not re.fullmatch(_HHMM, end):
        return
    if start == end:
        report.add("must differ from start", path=("end",))
        return
    s, e = (int(t[:2]) * 60 + int(t[3:]) for t in (start, end))
    if window_minutes(s, e) > MAX_QUIET_MINUTES:
        report.add("the quiet window may last at most 20 hours", path=("end",))


QUIET = (
    v.object(
        {
            "start": v.string().regex(_HHMM, "must be a 24-hour time HH:MM"),
            "end": v.string().regex(_HHMM, "must be a 24-hour time HH:MM"),
            "tz": v.string().refine(valid_zone, "must be an IANA time zone name"),
        }
    )
    .strict()
    .super_refine(_quiet_rules)
)


def _create_rules(body: Mapping[str, Any], report: v.Reporter) -> None:
    has_fire_at, has_duration = "fire_at" in body, "duration_ms" in body
    if has_fire_at == has_duration:
        report.add("give exactly one of fire_at and duration_ms", path=("duration_ms",))
    if "quiet" in body and has_fire_at:
        report.add("quiet hours apply to duration_ms timers only", path=("quiet",))


def create_schema(valid_overlay: Callable[[object], bool]) -> v.Schema[dict[str, Any]]:
    """The POST /timers body; `valid_overlay` is the overlay name rule (the overlay's own)."""
    return (
        v.object(
            {
                "id": v.string().regex(ID_PATTERN, "must be 1-100 of A-Z a-z 0-9 : _ . -"),
                "fire_at": v.int().min(0).max(MAX_FIRE_AT).optional(),
                "duration_ms": v.int().min(1).max(MAX_DURATION_MS).optional(),
                "reminders_ms": v.array(v.int().min(1).max(MAX_DURATION_MS))
                .max(MAX_REMINDERS)
                .optional(),
                "payload": v.any()
                .refine(_payload_fits, "must be at most 16 KiB as JSON")
                .optional(),
                "overlay": v.string()
                .refine(valid_overlay, "must be an overlay name (1-64 of A-Z a-z 0-9 _ -)")
                .optional(),
                "quiet": QUIET.optional(),
            }
        )
        .strict()
        .super_refine(_create_rules)
    )


EXTEND = v.object({"ms": v.int().min(-MAX_DURATION_MS).max(MAX_DURATION_MS)}).strict()


def spec_of(body: Mapping[str, Any]) -> TimerSpec:
    """The validated body as a TimerSpec; its digest is the body's, keys sorted."""
    digest = hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()
    quiet = body.get("quiet")
    return TimerSpec(
        id=body["id"],
        digest=digest,
        fire_at=body.get("fire_at"),
        duration_ms=body.get("duration_ms"),
        reminders_ms=tuple(body.get("reminders_ms", ())),
        payload=body.get("payload"),
        overlay=body.get("overlay"),
        quiet=Quiet.parse(quiet["start"], quiet["end"], quiet["tz"]) if quiet else None,
    )


async def guard(change: Awaitable[T]) -> T:
    """A change of the engine, its failures as problem answers (404, 409, 503)."""
    try:
        return await change
    except TimerError as exc:
        raise HTTPError(exc.status, exc.detail) from None
    except StoreUnavailable:
        raise HTTPError(
            503,
            "The timer could not be stored; nothing was changed. Retry.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None


def register(
    guarded: RouteRegistrar, services: Services, valid_overlay: Callable[[object], bool]
) -> None:
    """The timer routes, on the guarded group (AUTH_TOKEN)."""

    def engine() -> TimerEngine:
        return services.running.timers.engine

    def timer_id(req: Request) -> str:
        found = str(req.path_params["id"])
        if not _ID.fullmatch(found):
            raise HTTPError(404, "No timer has this id")
        return found

    def answer(res: Response, timer: Timer, status: int = 200) -> None:
        res.status(status).json(timer.view(engine().now()))

    async def create(req: Request, res: Response) -> None:
        timer, created = await guard(engine().create(spec_of(req.body_value)))
        answer(res, timer, 201 if created else 200)

    async def listing(req: Request, res: Response) -> None:
        timers = engine()
        now = timers.now()
        prefix = req.query_param("prefix") or ""
        res.json({"timers": [t.view(now) for t in timers.find(prefix)]})

    async def one(req: Request, res: Response) -> None:
        timers = engine()
        found = timers.find_one(timer_id(req))
        if found is None:
            raise HTTPError(404, "No timer has this id")
        answer(res, found)

    async def cancel(req: Request, res: Response) -> None:
        answer(res, await guard(engine().cancel(timer_id(req))))

    async def pause(req: Request, res: Response) -> None:
        answer(res, await guard(engine().pause(timer_id(req))))

    async def resume(req: Request, res: Response) -> None:
        answer(res, await guard(engine().resume(timer_id(req))))

    async def extend(req: Request, res: Response) -> None:
        answer(res, await guard(engine().extend(timer_id(req), req.body_value["ms"])))

    tags = ("timers",)
    guarded.post(
        "/timers",
        create,
        body=create_schema(valid_overlay),
        summary="Start a timer (201; the same body again: 200; another body: 409)",
        tags=tags,
    )
    guarded.get("/timers", listing, summary="The timers (?prefix= filters by id)", tags=tags)
    guarded.get("/timers/{id}", one, summary="One timer", tags=tags)
    guarded.delete("/timers/{id}", cancel, summary="Cancel a timer", tags=tags)
    guarded.post("/timers/{id}/pause", pause, summary="Stop a timer's clock", tags=tags)
    guarded.post("/timers/{id}/resume", resume, summary="Restart a timer's clock", tags=tags)
    guarded.post(
        "/timers/{id}/extend",
        extend,
        body=EXTEND,
        summary="Add ms to a timer's clock (negative shortens)",
        tags=tags,
    )
