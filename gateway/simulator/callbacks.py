"""What Discord refuses in an interaction callback (the first response), answered as Discord
answers: 400 Invalid Form Body (code 50035) with the `errors` tree naming the field."""

from __future__ import annotations

from typing import Any

from gateway.simulator.interaction_log import InteractionRecord
from gateway.simulator.rest_api import Reply

CALLBACK_TYPES = frozenset({1, 4, 5, 6, 7, 8, 9, 10, 12})
COMPONENT_ONLY = frozenset({6, 7})  # DEFERRED_UPDATE_MESSAGE, UPDATE_MESSAGE
MESSAGE_TYPES = frozenset({4, 7})  # carry a message in `data`


def callback_refusal(record: InteractionRecord, body: dict[str, Any]) -> Reply | None:
    """The 400 Discord gives this first response, or None when Discord takes it."""
    kind = body["type"]
    problem = _type_problem(record, kind)
    if problem is not None:
        return invalid_form(("type",), "BASE_TYPE_INVALID", problem)
    data = body.get("data")
    if data is None and kind in (*MESSAGE_TYPES, 9):
        return invalid_form(("data",), "BASE_TYPE_REQUIRED", "This field is required")
    if data is None:
        return None
    if not isinstance(data, dict):
        return invalid_form(("data",), "DICT_TYPE_CONVERT", "Only dictionaries may be used.")
    if kind in MESSAGE_TYPES:
        return message_refusal(data, ("data",), empty_ok=kind == 7)
    if kind == 9:
        for name, limit in (("custom_id", 100), ("title", 45)):
            value = data.get(name)
            if not isinstance(value, str) or not value:
                return invalid_form(("data", name), "BASE_TYPE_REQUIRED", "This field is required")
            if len(value) > limit:
                return invalid_form(
                    ("data", name), "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
                )
        rows = data.get("components")
        if not isinstance(rows, list) or not 1 <= len(rows) <= 5:
            return invalid_form(
                ("data", "components"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length."
            )
    return None


def message_refusal(
    data: dict[str, Any], at: tuple[str, ...] = (), *, empty_ok: bool = False
) -> Reply | None:
    """What Discord refuses in a message body (content over 2,000 characters, more than 10
    embeds, nothing at all); `at`: where the message sits in the request body."""
    content = data.get("content")
    if content is not None and (not isinstance(content, str) or len(content) > 2000):
        return invalid_form(
            (*at, "content"), "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length."
        )
    embeds = data.get("embeds")
    if embeds is not None and (not isinstance(embeds, list) or len(embeds) > 10):
        return invalid_form(
            (*at, "embeds"), "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length."
        )
    if not empty_ok and not (content or embeds or data.get("components")):
        return Reply(400, {"message": "Cannot send an empty message", "code": 50006})
    return None


def _type_problem(record: InteractionRecord, kind: int) -> str | None:
    interaction_type = record.type
    if interaction_type == 4 and kind != 8:
        return "Autocomplete interactions can only be answered with type 8."
    if kind == 8 and interaction_type != 4:
        return "Type 8 answers autocomplete interactions only."
    if kind in COMPONENT_ONLY and not (
        interaction_type == 3 or (interaction_type == 5 and "message" in record.interaction)
    ):
        return "Types 6 and 7 need an interaction on a message."
    if kind == 9 and interaction_type == 5:
        return "A modal submit cannot open another modal."
    return None


def invalid_form(path: tuple[str, ...], code: str, message: str) -> Reply:
    """Discord's 50035 shape: `errors` nested by field, the leaf holding `_errors`."""
    tree: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(path):
        tree = {part: tree}
    return Reply(400, {"message": "Invalid Form Body", "code": 50035, "errors": tree})
