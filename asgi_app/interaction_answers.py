"""The schemas of the main app's interaction responses (CONTRACT step 4: types 4, 5, 6, 7, 9
and their data), built with the project's validation library and handed to the relay as its
`answer_validator` (gateway/ imports nothing from asgi_app/)."""

from __future__ import annotations

from typing import Any

from asgi_app import validation as v
from asgi_app.http.body import MAX_JSON_DEPTH, value_too_deep

_EMBED = v.object(
    {
        "title": v.string().max(256).optional(),
        "description": v.string().max(4096).optional(),
        "url": v.string().max(2048).optional(),
        "color": v.int().min(0).max(0xFFFFFF).optional(),
        "fields": v.array(
            v.object(
                {"name": v.string().min(1).max(256), "value": v.string().min(1).max(1024)}
            ).passthrough()
        )
        .max(25)
        .optional(),
    }
).passthrough()
_COMPONENT = v.object({"type": v.int().min(1)}).passthrough()
_FLAGS = v.int().min(0)


def _not_empty(data: dict[str, Any], report: v.Reporter) -> None:
    if not (data.get("content") or data.get("embeds") or data.get("components")):
        report.add("a message needs content, embeds or components", code="empty_message")


_MESSAGE = v.object(
    {
        "content": v.string().max(2000).optional(),
        "embeds": v.array(_EMBED).max(10).optional(),
        "components": v.array(_COMPONENT).max(5).optional(),
        "flags": _FLAGS.optional(),
        "tts": v.boolean().optional(),
        "allowed_mentions": v.object({}).passthrough().optional(),
    }
).passthrough()
_TEXT_INPUT_ROW = v.object(
    {
        "type": v.literal(1),
        "components": v.array(
            v.object(
                {
                    "type": v.literal(4),
                    "custom_id": v.string().min(1).max(100),
                    "label": v.string().min(1).max(45),
                    "style": v.int().min(1).max(2),
                }
            ).passthrough()
        )
        .min(1)
        .max(1),
    }
).passthrough()
_MODAL = v.object(
    {
        "custom_id": v.string().min(1).max(100),
        "title": v.string().min(1).max(45),
        "components": v.array(_TEXT_INPUT_ROW).min(1).max(5),
    }
).passthrough()

#: The schema of each interaction response the main app may give.
ANSWERS: dict[int, v.Schema[Any]] = {
    4: v.object({"type": v.literal(4), "data": _MESSAGE.super_refine(_not_empty)}),
    5: v.object({"type": v.literal(5), "data": v.object({"flags": _FLAGS.optional()}).optional()}),
    6: v.object({"type": v.literal(6), "data": v.object({}).passthrough().optional()}),
    7: v.object({"type": v.literal(7), "data": _MESSAGE}),
    9: v.object({"type": v.literal(9), "data": _MODAL}),
}


def validate_answer(answer: dict[str, Any]) -> str | None:
    """The relay's `answer_validator`: None when `answer` is a valid interaction response,
    else what is wrong (pointers and messages, never the values)."""
    schema = ANSWERS.get(answer.get("type"))  # type: ignore[arg-type]
    if schema is None:
        return "type must be 4, 5, 6, 7 or 9"
    if value_too_deep(answer):  # kept keys pass on to Discord: it could not be sent
        return f"nested deeper than {MAX_JSON_DEPTH} levels"
    result = schema.safe_parse(answer)
    if result.ok:
        return None
    assert result.error is not None
    return str(result.error)
