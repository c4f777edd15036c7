"""An event on its way to the main app, its id, and its journal row.

The id (CONTRACT "Delivery": opaque, unique per dispatch, the same when it comes again):
- a gateway dispatch: `<session key>:<seq>`, the session key a hash of the session id.
  A RESUME replays a session's dispatches with their own `s`, in the same session, and a
  restart resumes the same session from its checkpoint, so a dispatch has the same id however
  often it arrives; a new session (IDENTIFY) starts new dispatches, never replays old ones.
- a Webhook Event: `w:<hash of its "event" object>` (type, timestamp, data; keys sorted), so
  Discord's retry of the same event has the same id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

GATEWAY = "gateway"
WEBHOOK = "webhook"


def session_key(session_id: str) -> str:
    """16 hex characters naming a gateway session (its id itself never leaves the gateway)."""
    return hashlib.blake2b(session_id.encode(), digest_size=8, person=b"dl-session").hexdigest()


def gateway_event_id(key: str, seq: int) -> str:
    return f"{key}:{seq}"


def webhook_event_id(event: Any) -> str:
    canonical = orjson.dumps(event, option=orjson.OPT_SORT_KEYS)
    return "w:" + hashlib.blake2b(canonical, digest_size=16, person=b"dl-webhook").hexdigest()


def batch_id(ids: list[str]) -> str:
    """X-Delivery-Id of a batch: derived from its events, so the same batch made again after
    a restart keeps it."""
    joined = "\n".join(ids).encode()
    return "b-" + hashlib.blake2b(joined, digest_size=12, person=b"dl-batch").hexdigest()


@dataclass(slots=True, eq=False)
class Event:
    """One event: `body` is its JSON as the main app receives it (inside `{"events": [...]}`);
    the rest is what the lanes, the journal and the dead letters need."""

    id: str
    type: str
    guild_id: str | None
    received_at: int  # unix ms
    body: bytes
    n: int = 0  # arrival order (journal order)
    dead: bool = False
    attempts: int = 0
    status: int | None = None  # the last answer's status (None: no answer)
    problem: str | None = None
    first_attempt: int | None = None  # unix ms
    last_attempt: int | None = None

    @property
    def lane(self) -> str:
        return self.guild_id or ""

    @classmethod
    def make(
        cls,
        event_id: str,
        event_type: str,
        source: str,
        shard: int | None,
        guild_id: str | None,
        received_at: int,
        data: Any,
    ) -> Event:
        body = orjson.dumps(
            {
                "id": event_id,
                "type": event_type,
                "source": source,
                "shard": shard,
                "guild_id": guild_id,
                "received_at": received_at,
                "data": data,
            }
        )
        return cls(event_id, event_type, guild_id, received_at, body)

    def dead_view(self) -> dict[str, Any]:
        """GET /events/dead's entry."""
        return {
            "id": self.id,
            "type": self.type,
            "guild_id": self.guild_id,
            "attempts": self.attempts,
            "last_status": self.status,
            "last_error": self.problem,
            "first_attempt": self.first_attempt,
            "last_attempt": self.last_attempt,
            "received_at": self.received_at,
        }

    # -- the journal row: a line of metadata, then the body --------------------------------
    def meta(self) -> bytes:
        return orjson.dumps(
            {
                "type": self.type,
                "guild_id": self.guild_id,
                "received_at": self.received_at,
                "n": self.n,
                "dead": self.dead,
                "attempts": self.attempts,
                "status": self.status,
                "problem": self.problem,
                "first_attempt": self.first_attempt,
                "last_attempt": self.last_attempt,
            }
        )

    def to_row(self) -> bytes:
        return self.meta() + b"\n" + self.body

    @classmethod
    def from_row(cls, event_id: str, row: bytes) -> Event:
        meta_raw, _, body = row.partition(b"\n")
        meta = orjson.loads(meta_raw)
        return cls(
            event_id,
            meta["type"],
            meta["guild_id"],
            meta["received_at"],
            body,
            n=meta["n"],
            dead=meta["dead"],
            attempts=meta["attempts"],
            status=meta["status"],
            problem=meta["problem"],
            first_attempt=meta["first_attempt"],
            last_attempt=meta["last_attempt"],
        )
