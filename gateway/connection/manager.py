"""GatewayManager: /gateway/bot (cached), the shards, identify throttle, dispatch routing."""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gateway.connection.backoff import Backoff
from gateway.connection.limiter import IdentifyThrottle
from gateway.connection.protocol import IDENTIFY_INTERVAL, ShardStatus
from gateway.connection.session import SessionState, SessionStore
from gateway.connection.shard import Shard, ShardNotReady, ShardTimings

log = logging.getLogger("gateway.manager")

Compression = Literal["none", "zlib-stream", "zstd-stream"]
Handler = Callable[[Any, Shard], Awaitable[Any]]
InlineHandler = Callable[[Any, Shard], None]
StatusListener = Callable[[str, "str | None"], Any]
FetchGatewayBot = Callable[[], Awaitable[dict[str, Any]]]
AggregateStatus = Literal["idle", "connecting", "resuming", "ready", "failed"]

MAX_HANDLER_TASKS = 1000
LISTENER_GRACE = 2.0  # seconds stop() gives running status listeners before cancelling them


@dataclass(frozen=True)
class GatewayConfig:
    token: str = field(repr=False)
    intents: int
    compression: Compression = "zlib-stream"
    shard_count: int | None = None
    shard_ids: list[int] | None = None
    state_dir: Path | None = None
    api_base: str = "https://discord.com/api/v10"
    presence: dict[str, Any] | None = None


class GatewayManager:
    def __init__(
        self,
        config: GatewayConfig,
        fetch_gateway_bot: FetchGatewayBot,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = random.random,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        timings: ShardTimings | None = None,
        identify_interval: float = IDENTIFY_INTERVAL,
        max_handler_tasks: int = MAX_HANDLER_TASKS,
    ) -> None:
        self.config = config
        self._fetch = fetch_gateway_bot
        self._clock = clock
        self._wall = wall_clock
        self._rng = rng
        self._sleep = sleep
        self._timings = timings or ShardTimings()
        self._identify_interval = identify_interval
        self._max_handler_tasks = max_handler_tasks
        self._presence = config.presence
        self._handlers: dict[str, list[Handler]] = {}
        self._inline: dict[str, list[InlineHandler]] = {}
        self._status_listeners: list[StatusListener] = []
        self._handler_tasks: set[asyncio.Task[Any]] = set()
        self._listener_tasks: set[asyncio.Task[Any]] = set()
        self._overflow_warned = False
        self.shards: list[Shard] = []
        self.gateway_bot: dict[str, Any] | None = None
        self.failure_reason: str | None = None
        self._status: AggregateStatus = "idle"
        self._boot: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._store = SessionStore(config.state_dir, clock=wall_clock) if config.state_dir else None

    # ---- registration -------------------------------------------------------------------
    def on(self, event: str, handler: Handler) -> Handler:
        self._handlers.setdefault(event, []).append(handler)
        return handler

    def on_inline(self, event: str, handler: InlineHandler) -> InlineHandler:
        """A synchronous handler called in the dispatch loop itself, no task in between (for
        handlers that only hand the event on, e.g. the interaction relay's own task)."""
        self._inline.setdefault(event, []).append(handler)
        return handler

    def on_status(self, callback: StatusListener) -> StatusListener:
        """`callback(status, reason)` on every change of the aggregate status."""
        self._status_listeners.append(callback)
        return callback

    # ---- state --------------------------------------------------------------------------
    def status(self) -> AggregateStatus:
        return self._status

    @property
    def application_id(self) -> str | None:
        for shard in self.shards:
            if shard.application_id is not None:
                return shard.application_id
        return None

    def snapshot(self) -> list[dict[str, Any]]:
        return [shard.snapshot() for shard in self.shards]

    @property
    def handler_tasks(self) -> int:
        return len(self._handler_tasks)

    async def wait_for(self, *statuses: str) -> str:
        """Wait until the aggregate status is one of `statuses`; returns it (wrap in a timeout)."""
        while self._status not in statuses:
            self._changed.clear()
            await self._changed.wait()
        return self._status

    def _aggregate(self) -> AggregateStatus:
        if self.failure_reason is not None:
            return "failed"
        statuses = [shard.status for shard in self.shards]
        if any(s is ShardStatus.FAILED for s in statuses):
            return "failed"
        if self._boot is None and not any(shard.running for shard in self.shards):
            return "idle"
        if statuses and all(s is ShardStatus.READY for s in statuses):
            return "ready"
        if any(s is ShardStatus.RESUMING for s in statuses):
            return "resuming"
        return "connecting"

    def _refresh(self) -> None:
        status = self._aggregate()
        if status == self._status:
            return
        previous, self._status = self._status, status
        reason = self.failure_reason
        if status == "failed" and reason is None:
            reason = next((s.failure_reason for s in self.shards if s.failure_reason), None)
            self.failure_reason = reason
        log.info("gateway status %s -> %s", previous, status)
        self._changed.set()
        for listener in self._status_listeners:
            try:
                result = listener(status, reason)
            except Exception:
                log.exception("gateway status listener failed")
                continue
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._listener_tasks.add(task)
                task.add_done_callback(self._listener_done)

    def _listener_done(self, task: asyncio.Task[Any]) -> None:
        self._listener_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("gateway status listener failed", exc_info=task.exception())

    def _shard_status(self, shard: Shard, status: ShardStatus) -> None:
        self._refresh()

    # ---- dispatch -----------------------------------------------------------------------
    def _dispatch(self, event: str, data: Any, shard: Shard) -> None:
        inline = self._inline.get(event)
        if inline:
            for call in inline:
                try:
                    call(data, shard)
                except Exception:
                    log.exception("gateway handler for %s failed (shard %d)", event, shard.shard_id)
        handlers = self._handlers.get(event)
        if not handlers:
            return
        tasks = self._handler_tasks
        if len(tasks) >= self._max_handler_tasks and not self._overflow_warned:
            self._overflow_warned = True
            log.warning("gateway handlers are falling behind: %d running", len(tasks))
        for handler in handlers:
            task = asyncio.create_task(self._run_handler(handler, event, data, shard))
            tasks.add(task)
            task.add_done_callback(self._handler_done)

    def _handler_done(self, task: asyncio.Task[Any]) -> None:
        self._handler_tasks.discard(task)
        if self._overflow_warned and len(self._handler_tasks) < self._max_handler_tasks // 2:
            self._overflow_warned = False

    async def _run_handler(self, handler: Handler, event: str, data: Any, shard: Shard) -> None:
        try:
            await handler(data, shard)
        except Exception:
            log.exception("gateway handler for %s failed (shard %d)", event, shard.shard_id)

    # ---- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        """Begin connecting in the background; returns at once (see wait_for / status)."""
        if self._boot is not None or any(shard.running for shard in self.shards):
            return
        self.failure_reason = None
        self.shards = []
        self._boot = asyncio.create_task(self._start_shards(), name="gateway-boot")
        self._refresh()

    async def _fetch_gateway_bot(self) -> dict[str, Any]:
        backoff = Backoff(
            base=self._timings.backoff_base,
            cap=self._timings.backoff_cap,
            floor=self._timings.backoff_floor,
            rng=self._rng,
        )
        while True:
            try:
                info = await self._fetch()
                str(info["url"])
                return info
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = backoff.next_delay()
                log.warning(
                    "GET /gateway/bot failed (%s); retrying in %.2f s",
                    exc.__class__.__name__,
                    delay,
                )
                await self._sleep(delay)

    async def _start_shards(self) -> None:
        try:
            info = await self._fetch_gateway_bot()
            self.gateway_bot = info
            cfg = self.config
            count = cfg.shard_count or int(info.get("shards") or 1)
            ids = list(cfg.shard_ids) if cfg.shard_ids is not None else list(range(count))
            if not ids or any(not 0 <= i < count for i in ids):
                self._fail(f"shard ids {ids} do not fit shard count {count}")
                return
            limit = info.get("session_start_limit") or {}
            saved = self._store.load(count) if self._store is not None else {}
            identifies = sum(1 for i in ids if i not in saved)
            remaining = int(limit.get("remaining", identifies))
            if remaining < identifies:
                reset_after = float(limit.get("reset_after", 0)) / 1000.0
                self._fail(
                    f"session start limit: {remaining} identifies left, {identifies} needed;"
                    f" resets in {reset_after:.0f} s"
                )
                return
            throttle = IdentifyThrottle(
                int(limit.get("max_concurrency", 1)),
                interval=self._identify_interval,
                clock=self._clock,
                sleep=self._sleep,
            )
            self.shards = [self._make_shard(i, count, throttle, saved.get(i)) for i in ids]
            log.info("gateway starting %d shard(s) of %d, %d resuming", len(ids), count, len(saved))
            for shard in self.shards:
                shard.start()
        finally:
            self._boot = None
            self._refresh()

    def _make_shard(
        self, shard_id: int, count: int, throttle: IdentifyThrottle, saved: SessionState | None
    ) -> Shard:
        return Shard(
            shard_id,
            count,
            token=self.config.token,
            intents=self.config.intents,
            compression=self.config.compression,
            gateway_url=self._gateway_url,
            dispatch=self._dispatch,
            on_status=self._shard_status,
            identify_throttle=throttle,
            presence=self._presence,
            session=saved,
            timings=self._timings,
            clock=self._clock,
            wall_clock=self._wall,
            rng=self._rng,
            sleep=self._sleep,
        )

    def _gateway_url(self) -> str:
        if self.gateway_bot is None:
            raise RuntimeError("gateway URL asked for before GET /gateway/bot")
        return str(self.gateway_bot["url"])

    def _fail(self, reason: str) -> None:
        log.error("gateway not started: %s", reason)
        self.failure_reason = reason

    async def stop(self, resumable: bool = True) -> None:
        """Close every shard (resumable: 4900 and the sessions saved; else 1000)."""
        boot = self._boot
        if boot is not None:
            boot.cancel()
            await asyncio.gather(boot, return_exceptions=True)
        results = await asyncio.gather(*(s.stop(resumable=resumable) for s in self.shards))
        if self._store is not None:
            sessions = [s for s in results if s is not None]
            if resumable and sessions:
                self._store.save(sessions)
                log.info("gateway sessions saved for resume: %d", len(sessions))
            else:
                self._store.clear()
        if self._listener_tasks:  # let status listeners (audit log) finish, briefly
            await asyncio.wait(list(self._listener_tasks), timeout=LISTENER_GRACE)
        pending = list(self._handler_tasks) + list(self._listener_tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self.shards = []
        self.failure_reason = None
        self._refresh()

    async def restart(self, resumable: bool = True) -> None:
        await self.stop(resumable=resumable)
        await self.start()

    async def update_presence(
        self, status: str, type: int, name: str, *, shards: Sequence[int] | None = None
    ) -> int:
        """Send op 3 to every READY shard (and use it for later IDENTIFYs); returns how many."""
        presence: dict[str, Any] = {
            "since": None,
            "activities": [{"name": name, "type": type}],
            "status": status,
            "afk": False,
        }
        self._presence = presence
        sent = 0
        for shard in self.shards:
            shard.presence = presence
            if shards is not None and shard.shard_id not in shards:
                continue
            if shard.status is ShardStatus.READY:
                await shard.send({"op": 3, "d": presence})
                sent += 1
        if sent == 0:
            raise ShardNotReady("no shard is ready")
        return sent
