"""The main app's answer to a forward (CONTRACT step 4): what it asks for, whether the
interaction can take it, and how it is delivered when it comes after the first response."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from gateway.interactions.model import EPHEMERAL, CallbackType, Interaction, InteractionType

#: Checks an interaction response `{"type", "data"}` in full (content length, embeds,
#: components, flags, modal fields); returns a problem, or None when it is valid. asgi_app
#: builds it with the project's validation library.
AnswerValidator = Callable[[dict[str, Any]], "str | None"]

_C = CallbackType
_ON_MESSAGE = frozenset({_C.DEFERRED_UPDATE_MESSAGE, _C.UPDATE_MESSAGE})
#: The answers each interaction type can take (modal submits from a message also take 6, 7).
ALLOWED: dict[InteractionType, frozenset[CallbackType]] = {
    InteractionType.APPLICATION_COMMAND: frozenset(
        {_C.CHANNEL_MESSAGE_WITH_SOURCE, _C.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE, _C.MODAL}
    ),
    InteractionType.MESSAGE_COMPONENT: frozenset(
        {
            _C.CHANNEL_MESSAGE_WITH_SOURCE,
            _C.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE,
            _C.DEFERRED_UPDATE_MESSAGE,
            _C.UPDATE_MESSAGE,
            _C.MODAL,
        }
    ),
    InteractionType.MODAL_SUBMIT: frozenset(
        {_C.CHANNEL_MESSAGE_WITH_SOURCE, _C.DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE}
    ),
}
_TYPES = {t.value: t for t in CallbackType}


@dataclass(frozen=True, slots=True)
class Answer:
    """`body` None: the main app makes the response itself. `problem`: an invalid answer."""

    body: dict[str, Any] | None = None
    problem: str | None = None

    @property
    def type(self) -> CallbackType | None:
        return None if self.body is None else _TYPES[self.body["type"]]


def read_answer(
    content: bytes, interaction: Interaction, validator: AnswerValidator | None
) -> Answer:
    """The answer in a 2xx body: empty, not JSON, `{}` or without `type` -> the main app
    responds itself; else an interaction response this interaction must be able to take."""
    try:
        body = orjson.loads(content) if content.strip() else None
    except orjson.JSONDecodeError:
        return Answer()
    if not isinstance(body, dict) or "type" not in body:
        return Answer()
    kind = _TYPES.get(body["type"]) if body["type"].__class__ is int else None
    allowed = ALLOWED.get(interaction.type, frozenset())
    if interaction.type is InteractionType.MODAL_SUBMIT and interaction.from_message:
        allowed = allowed | _ON_MESSAGE
    if kind is None or kind not in allowed:
        return Answer(problem=f"type {body['type']!r} cannot answer a {interaction.type.name}")
    if "data" in body and not isinstance(body["data"], dict):
        return Answer(problem="data must be an object")
    problem = validator(body) if validator is not None else None
    if problem is not None:
        return Answer(problem=problem)
    return Answer(body=body)


def late_delivery(
    interaction: Interaction, first: int, answer: dict[str, Any], late_message: str
) -> tuple[str, str, dict[str, Any]] | None:
    """(method, path, json) delivering an answer that came after the first response `first`,
    or None when nothing more is sent (5 and 6)."""
    kind = answer["type"]
    data = dict(answer.get("data") or {})
    base = f"/webhooks/{interaction.application_id}/{interaction.token}"
    if kind == _C.CHANNEL_MESSAGE_WITH_SOURCE:
        if first == _C.DEFERRED_UPDATE_MESSAGE:
            return "POST", base, data  # a follow-up: flags (ephemeral) kept
        # after the loading message: the defer fixed ephemerality, it cannot change now
        if "flags" in data:
            data["flags"] = int(data["flags"]) & ~EPHEMERAL
        return "PATCH", base + "/messages/@original", data
    if kind == _C.UPDATE_MESSAGE:
        return "PATCH", base + "/messages/@original", data
    if kind == _C.MODAL:
        return "POST", base, {"content": late_message, "flags": EPHEMERAL}
    return None
