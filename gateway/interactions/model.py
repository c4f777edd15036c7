"""The typed interaction: parsed once on arrival, read everywhere after.

`Interaction.parse()` is the one place that reads the interaction dict Discord sent; the rest
of the pipeline reads the fields of the `Interaction` it returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import orjson

#: Milliseconds between the unix epoch and the Discord epoch (2015-01-01T00:00:00Z).
DISCORD_EPOCH_MS = 1_420_070_400_000
#: Message flag: only the user who triggered the interaction sees the message.
EPHEMERAL = 1 << 6


class InteractionType(IntEnum):
    PING = 1
    APPLICATION_COMMAND = 2
    MESSAGE_COMPONENT = 3
    APPLICATION_COMMAND_AUTOCOMPLETE = 4
    MODAL_SUBMIT = 5


class CallbackType(IntEnum):
    PONG = 1
    CHANNEL_MESSAGE_WITH_SOURCE = 4
    DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
    DEFERRED_UPDATE_MESSAGE = 6
    UPDATE_MESSAGE = 7
    APPLICATION_COMMAND_AUTOCOMPLETE_RESULT = 8
    MODAL = 9


def snowflake_time(snowflake: str | int) -> float:
    """Unix seconds at which Discord created the id (its top 42 bits: ms since 2015)."""
    return ((int(snowflake) >> 22) + DISCORD_EPOCH_MS) / 1000.0


_TYPES = {t.value: t for t in InteractionType}


def _exact(data: bytes) -> bytes:
    """A copy of `data` in an allocation of its own size. orjson.dumps's bytes keep the
    buffer they were written in (orjson 3.13: 4 KiB at least, 8 KiB for a 0.9-1.2 KB
    interaction), and `raw` lives as long as the interaction's forward: a burst's 1,000 held
    8 MiB instead of 1 MiB (docs/PERFORMANCE.md). The copy costs about 0.2 us."""
    return bytes(memoryview(data))


@dataclass(frozen=True, slots=True)
class Interaction:
    id: str
    type: InteractionType
    token: str
    application_id: str
    command_name: str | None  # commands and autocomplete: data.name
    custom_id: str | None  # components and modal submits: data.custom_id
    message_id: str | None  # the message a component (or a modal opened from one) is on
    created_at: float  # unix seconds, from the id's snowflake
    raw: bytes  # the interaction object as received (forwarded byte for byte)
    # The parsed object is not kept: every decision reads the fields above, and a thousand
    # interactions waiting for a slow main app would hold a thousand decoded dicts.

    @property
    def from_message(self) -> bool:
        return self.message_id is not None

    @classmethod
    def parse(cls, obj: Any, raw: bytes | None = None) -> Interaction | None:
        """The interaction in `obj` (a decoded INTERACTION_CREATE `d` or HTTP body), or None
        for what cannot be one (no id/token, unknown type). `raw`: the bytes as received;
        when None (the gateway decodes the whole frame) they are `orjson.dumps(obj)`."""
        if obj.__class__ is not dict:
            return None
        kind = _TYPES.get(obj.get("type"))  # type: ignore[arg-type]
        token = obj.get("token")
        ident = obj.get("id")
        if kind is None or token.__class__ is not str or ident is None:
            return None
        try:
            created_at = snowflake_time(ident)
        except (TypeError, ValueError):
            return None
        data = obj.get("data")
        if data.__class__ is not dict:
            data = {}
        name = data.get("name")
        custom_id = data.get("custom_id")
        message = obj.get("message")
        message_id = message.get("id") if message.__class__ is dict else None
        return cls(
            id=str(ident),
            type=kind,
            token=token,
            application_id=str(obj.get("application_id", "")),
            command_name=name if name.__class__ is str else None,
            custom_id=custom_id if custom_id.__class__ is str else None,
            message_id=None if message_id is None else str(message_id),
            created_at=created_at,
            raw=_exact(orjson.dumps(obj)) if raw is None else raw,
        )
