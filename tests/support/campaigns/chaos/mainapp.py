"""A stand-in main app that fails at random: 500, 503 or a dropped connection.

Served with tests/support/harness/server.py `serve`. Every attempt is recorded by X-Interaction-Id
with what the app did, so an audit can tell which interactions finally failed (no attempt
answered 200) and must therefore show the user the error message.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import orjson

OK, ERROR, UNAVAILABLE, DROP = "ok", "500", "503", "drop"
FAILURES = (ERROR, UNAVAILABLE, DROP)


class DroppedOnPurpose(Exception):
    """Raised after the response started: uvicorn closes the connection mid-body."""


class _HideDrops(logging.Filter):
    """uvicorn logs each aborted response with a traceback; these are on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, DroppedOnPurpose)


_HIDE_DROPS = _HideDrops()


class FlakyMainApp:
    """ASGI app: each request fails with probability `failure_rate` (500, 503 or drop)."""

    def __init__(
        self,
        failure_rate: float = 0.10,
        *,
        seed: int = 0,
        on_forward: Callable[[str], None] | None = None,
    ) -> None:
        self.failure_rate = failure_rate
        self._on_forward = on_forward  # told each attempt's interaction id (sim.note_forward)
        self._rng = random.Random(seed)
        self.attempts: defaultdict[str, list[str]] = defaultdict(list)
        self.paths: dict[str, str] = {}
        for handler in (*logging.getLogger("uvicorn.error").handlers, logging.getLogger()):
            if _HIDE_DROPS not in handler.filters:
                handler.addFilter(_HIDE_DROPS)

    def outcome_for(self) -> str:
        if self._rng.random() < self.failure_rate:
            return self._rng.choice(FAILURES)
        return OK

    def succeeded(self, interaction_id: str) -> bool:
        return OK in self.attempts.get(interaction_id, ())

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        while True:
            message = await receive()
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        interaction_id = headers.get(b"x-interaction-id", b"?").decode()
        if self._on_forward is not None:
            self._on_forward(interaction_id)
        outcome = self.outcome_for()
        self.attempts[interaction_id].append(outcome)
        self.paths[interaction_id] = scope["path"]
        if outcome == DROP:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-length", b"100")],
                }
            )
            raise DroppedOnPurpose  # uvicorn aborts the half-sent response: a dropped connection
        status = {OK: 200, ERROR: 500, UNAVAILABLE: 503}[outcome]
        body = b"{}"
        if status == 200 and scope["path"].endswith("/autocomplete"):
            body = orjson.dumps({"choices": [{"name": "Pikachu", "value": "pikachu"}]})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})
