"""Redis commands of many callers sent together: one pipeline per round trip.

Each caller's commands stay together and in order; whatever arrives while a pipeline is on
the wire goes in the next one (at most MAX_IN_FLIGHT on the wire at once), so under load a
round trip carries many interactions, and alone a caller waits one round trip as before.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import redis.asyncio as aioredis

log = logging.getLogger("gateway.journal")

Command = tuple[Any, ...]
MAX_IN_FLIGHT = 4
MAX_BATCH = 512
#: At most this long (s) between a `post` and its sending (sooner with the next `run`).
BEHIND_DELAY = 0.05


class Pipeliner:
    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client
        self._queue: list[tuple[list[Command], asyncio.Future[list[Any]]]] = []
        self._flushers: set[asyncio.Task[None]] = set()
        self._flushing = 0  # flushers inside their loop (a finished one leaves it first)
        self._behind: list[list[Command]] = []
        self._behind_timer: asyncio.TimerHandle | None = None

    def run(self, commands: list[Command]) -> asyncio.Future[list[Any]]:
        """The replies of `commands`, in order (the first error reply raised instead)."""
        self._send_behind()  # what was posted before goes first
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._queue.append((commands, future))
        self._start_flusher()
        return future

    def post(self, commands: list[Command]) -> None:
        """`run` without waiting: sent with the next `run`, or after BEHIND_DELAY (so a claim
        costs no pipeline while the acknowledgement is on its way); an error is logged (by
        type, never the arguments)."""
        self._behind.append(commands)
        if self._behind_timer is None:
            loop = asyncio.get_running_loop()
            self._behind_timer = loop.call_later(BEHIND_DELAY, self._send_behind)

    def _send_behind(self) -> None:
        if self._behind_timer is not None:
            self._behind_timer.cancel()
            self._behind_timer = None
        if not self._behind:
            return
        loop = asyncio.get_running_loop()
        for commands in self._behind:
            future: asyncio.Future[list[Any]] = loop.create_future()
            future.add_done_callback(_log_failure)
            self._queue.append((commands, future))
        self._behind.clear()
        self._start_flusher()

    def _start_flusher(self) -> None:
        if self._flushing < MAX_IN_FLIGHT:
            self._flushing += 1
            task = asyncio.create_task(self._flush())
            self._flushers.add(task)
            task.add_done_callback(self._flushers.discard)

    async def wait_idle(self) -> None:
        self._send_behind()
        while self._flushers:
            await asyncio.gather(*self._flushers, return_exceptions=True)

    async def _flush(self) -> None:
        try:
            await self._drain()
        finally:
            self._flushing -= 1

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            pipe = self._redis.pipeline(transaction=False)
            for commands, _future in batch:
                for command in commands:
                    pipe.execute_command(*command)
            try:
                replies = await pipe.execute(raise_on_error=False)
            except Exception as exc:  # the connection, not one command
                for _commands, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            at = 0
            for commands, future in batch:
                mine = replies[at : at + len(commands)]
                at += len(commands)
                if future.done():
                    continue
                error = next((r for r in mine if isinstance(r, Exception)), None)
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(mine)


def _log_failure(future: asyncio.Future[list[Any]]) -> None:
    if not future.cancelled() and (exc := future.exception()) is not None:
        log.error("journal write to redis failed: %s", type(exc).__name__)
