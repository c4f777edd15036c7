"""EVENT_FORWARDS and the events' settings rules (CONTRACT "Gateway events for the main app").

EVENT_FORWARDS is a JSON object, dispatch name -> filter, each problem reported at its path
inside the document (`EVENT_FORWARDS.MESSAGE_CREATE.channels.0: must be a snowflake ...`).
`intent_rules` (a cross-field rule of the settings schema) refuses a privileged intent the
forwarded events need and GATEWAY_INTENTS does not carry, naming the event and the intent.
`load_settings` then adds the intents the events need to GATEWAY_INTENTS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from asgi_app import validation as v
from gateway.events import intents
from gateway.events.filters import (
    BOT_EVENTS,
    CONTENT_EVENTS,
    NOT_FORWARDED,
    Forwards,
    forwards_from,
)

_SNOWFLAKE = v.string().regex(r"^[0-9]{1,20}$", "must be a snowflake (digits, as a string)")
_EVENT_NAME = (
    v.string()
    .regex(r"^[A-Z][A-Z0-9_]*$", "must be a dispatch name (upper case, as Discord names it)")
    .refine(
        lambda name: name not in NOT_FORWARDED,
        "READY, RESUMED and INTERACTION_CREATE are not forwarded",
    )
)
FILTER = v.object(
    {
        "guilds": v.array(_SNOWFLAKE).min(1).max(1000).optional(),
        "channels": v.array(_SNOWFLAKE).min(1).max(1000).optional(),
        "bots": v.boolean().optional(),
        "content_prefix": v.string().min(1).max(2000).optional(),
    }
).strict()


def _where_keys_apply(document: Mapping[str, Any], report: v.Reporter) -> None:
    for event, rule in document.items():
        if not isinstance(rule, Mapping):
            continue
        if "bots" in rule and event not in BOT_EVENTS:
            report.add("bots applies to MESSAGE_* and MESSAGE_REACTION_* only", (event, "bots"))
        if "content_prefix" in rule and event not in CONTENT_EVENTS:
            report.add(
                "content_prefix applies to MESSAGE_CREATE and MESSAGE_UPDATE only",
                (event, "content_prefix"),
            )


DOCUMENT = v.record(FILTER, _EVENT_NAME)


def _check(text: str, report: v.Reporter) -> None:
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        report.add("must be a JSON object", code="invalid_json")
        return
    result = DOCUMENT.safe_parse(document)
    if result.error is not None:
        for issue in result.error.issues:
            report.add(issue.message, path=issue.path, code=issue.code)
    if isinstance(document, dict):  # also where a record's other issues stop its checks
        _where_keys_apply(document, report)


def _to_forwards(text: str) -> Forwards:
    return forwards_from(DOCUMENT.parse(orjson.loads(text)))


#: EVENT_FORWARDS: a JSON string, each problem reported at its path inside the document.
event_forwards: v.Schema[Forwards] = v.string().super_refine(_check).transform(_to_forwards)


def intent_rules(values: Mapping[str, Any], report: v.Reporter) -> None:
    """A privileged intent an event needs must already be in GATEWAY_INTENTS."""
    forwards, carried = values.get("EVENT_FORWARDS"), values.get("GATEWAY_INTENTS")
    if not isinstance(forwards, Forwards) or not isinstance(carried, int):
        return  # a field that failed its own schema is reported there
    for event, intent in forwards.missing_privileged(carried):
        report.add(
            f"{event} needs the privileged intent {intent} ({intents.INTENTS[intent]}), which"
            " GATEWAY_INTENTS does not carry: add it there (and switch it on in the"
            " developer portal)",
            path=("EVENT_FORWARDS", event),
        )


#: The simulator's event kinds, forwarded by `make run` when EVENT_FORWARDS is unset (the
#: member events only when GATEWAY_INTENTS carries GUILD_MEMBERS).
DEV_EVENTS = (
    "MESSAGE_CREATE",
    "MESSAGE_UPDATE",
    "MESSAGE_DELETE",
    "MESSAGE_REACTION_ADD",
    "MESSAGE_REACTION_REMOVE",
    "VOICE_STATE_UPDATE",
    "GUILD_MEMBER_ADD",
    "GUILD_MEMBER_REMOVE",
)


def development_forwards(gateway_intents: int) -> Forwards:
    """EVENT_FORWARDS of `make run` when unset: every simulator event kind the intents allow."""
    document: dict[str, dict[str, Any]] = {name: {} for name in DEV_EVENTS}
    forwards = forwards_from(document)
    for event, _intent in forwards.missing_privileged(gateway_intents):
        document.pop(event, None)
    return forwards_from(document)


def with_event_defaults(values: dict[str, Any], development: bool) -> None:
    """Fill EVENT_FORWARDS (development), EVENTS_URL, and add the events' intents to
    GATEWAY_INTENTS, in the parsed settings values."""
    if values.get("EVENT_FORWARDS") is None:
        values["EVENT_FORWARDS"] = (
            development_forwards(values["GATEWAY_INTENTS"]) if development else Forwards()
        )
    if values.get("EVENTS_URL") is None:
        values["EVENTS_URL"] = f"{values['ORIGIN_URL']}/api/discord/events"
    values["GATEWAY_INTENTS"] |= values["EVENT_FORWARDS"].intents()
