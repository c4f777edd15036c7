"""W3C Trace Context for the deliveries to the main app: one trace per interaction.

Every delivery carries `traceparent: 00-<trace id>-<parent id>-01`
(https://www.w3.org/TR/trace-context/). The trace id is derived from the interaction id (a
BLAKE2b hash of it, 16 bytes), so it is the same on every attempt, on a redelivery after a
restart and on any node, without being stored; the parent id is new for each attempt (each
attempt is a span of its own); the flags say "sampled", so that a main app which traces
records the interaction. The interaction's log lines carry the same id as `trace_id`: the
relay sets `trace_id_var` in the interaction's task and asgi_app.logs adds it to each record.
League timers' deliveries and event batches (gateway/delivery/sender.py) get one trace per
delivery id the same way.
"""

from __future__ import annotations

import hashlib
import os
from contextvars import ContextVar

VERSION = "00"
SAMPLED = "01"
HEADER = "traceparent"

#: The trace id of the interaction the current task handles (None outside one).
trace_id_var: ContextVar[str | None] = ContextVar("interaction_trace_id", default=None)


def trace_id_for(interaction_id: str) -> str:
    """The trace id of an interaction (or of a timer delivery, by its id): 32 lowercase hex
    characters, never all zeros (the spec's invalid value)."""
    digest = hashlib.blake2b(
        interaction_id.encode(), digest_size=16, person=b"dl-interaction"
    ).hexdigest()
    return digest if digest.strip("0") else "0" * 31 + "1"


def new_parent_id() -> str:
    """16 random lowercase hex characters, never all zeros."""
    while True:
        parent = os.urandom(8).hex()
        if parent.strip("0"):
            return parent


def traceparent(trace_id: str) -> str:
    """The header's value for one attempt of the trace `trace_id`."""
    return f"{VERSION}-{trace_id}-{new_parent_id()}-{SAMPLED}"


def parse_traceparent(value: str) -> tuple[str, str, str] | None:
    """(trace id, parent id, flags) of a version-00 header, else None (for the tests and a
    main app written in Python)."""
    parts = value.strip().split("-")
    if len(parts) != 4 or parts[0] != VERSION:
        return None
    _version, trace_id, parent_id, flags = parts
    lengths = (len(trace_id), len(parent_id), len(flags))
    if lengths != (32, 16, 2) or not all(_is_hex(p) for p in (trace_id, parent_id, flags)):
        return None
    if not trace_id.strip("0") or not parent_id.strip("0"):
        return None
    return trace_id, parent_id, flags


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)
