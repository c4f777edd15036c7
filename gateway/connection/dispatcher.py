"""Dispatch routing: each gateway event to its registered handlers, one task per handler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from gateway.connection.shard import Shard

log = logging.getLogger("gateway.manager")

Handler = Callable[[Any, Shard], Awaitable[Any]]
InlineHandler = Callable[[Any, Shard], None]
MAX_HANDLER_TASKS = 1000


class Dispatcher:
    def __init__(self, max_tasks: int = MAX_HANDLER_TASKS) -> None:
        self.handlers: dict[str, list[Handler]] = {}
        self.inline: dict[str, list[InlineHandler]] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self._max_tasks = max_tasks
        self._overflow_warned = False

    def on(self, event: str, handler: Handler) -> Handler:
        self.handlers.setdefault(event, []).append(handler)
        return handler

    def on_inline(self, event: str, handler: InlineHandler) -> InlineHandler:
        """A synchronous handler called in the dispatch loop itself, no task in between (for
        handlers that only hand the event on, e.g. the interaction relay's own task)."""
        self.inline.setdefault(event, []).append(handler)
        return handler

    def __call__(self, event: str, data: Any, shard: Shard) -> None:
        for call in self.inline.get(event, ()):
            try:
                call(data, shard)
            except Exception:
                log.exception("gateway handler for %s failed (shard %d)", event, shard.shard_id)
        handlers = self.handlers.get(event)
        if not handlers:
            return
        tasks = self.tasks
        if len(tasks) >= self._max_tasks and not self._overflow_warned:
            self._overflow_warned = True
            log.warning("gateway handlers are falling behind: %d running", len(tasks))
        for handler in handlers:
            task = asyncio.create_task(self._run(handler, event, data, shard))
            tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if self._overflow_warned and len(self.tasks) < self._max_tasks // 2:
            self._overflow_warned = False

    async def _run(self, handler: Handler, event: str, data: Any, shard: Shard) -> None:
        try:
            await handler(data, shard)
        except Exception:
            log.exception("gateway handler for %s failed (shard %d)", event, shard.shard_id)
