"""GatewayManager: /gateway/bot (cached), the shards, identify throttle, dispatch routing.

What its shards share (`ShardContext`: the dispatcher, the status hook, the identify gate and
budget, timings, clocks) is built here once /gateway/bot is known, and handed to each shard.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gateway.clock import SYSTEM_CLOCKS, Clocks
from gateway.connection.budget import IdentifyBudget
from gateway.connection.checkpoint import Barrier, Checkpointer, JournalFirst
from gateway.connection.context import Fence, ShardContext
from gateway.connection.dispatcher import Dispatcher, Handler, InlineHandler
from gateway.connection.gateway_bot import FetchGatewayBot, fetch_gateway_bot
from gateway.connection.leases import ShardLeases
from gateway.connection.limiter import IdentifyGate, IdentifyThrottle
from gateway.connection.presence import presence_payload, send_presence
from gateway.connection.protocol import CLOSE_SHARDING_REQUIRED, Compression, ShardStatus
from gateway.connection.redis_store import RedisIdentifyLock, RedisSessionStore
from gateway.connection.session import SessionBackend, SessionState, SessionStore
from gateway.connection.shard import Shard
from gateway.connection.timings import ShardTimings
from gateway.redis_client import redis_client

log = logging.getLogger("gateway.manager")

StatusListener = Callable[[str, "str | None"], Any]
NoticeListener = Callable[[str], Any]
AggregateStatus = Literal["idle", "connecting", "resuming", "ready", "failed"]

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
    redis_url: str | None = field(default=None, repr=False)  # shared identify lock, sessions
    checkpoint_barrier: Barrier | None = field(default=None, repr=False)  # checkpoint.py
    leases: ShardLeases | None = field(default=None, repr=False)  # SHARD_IDS=auto (leases.py)


class GatewayManager:
    def __init__(
        self,
        config: GatewayConfig,
        fetch_gateway_bot: FetchGatewayBot,
        *,
        clocks: Clocks = SYSTEM_CLOCKS,
        timings: ShardTimings | None = None,
    ) -> None:
        """Sessions are checkpointed (every `timings.checkpoint_interval`) to the leases'
        fenced Redis keys, REDIS_URL or STATE_DIR's file, whichever the config has first."""
        self.config = config
        self._fetch = fetch_gateway_bot
        self._clocks = clocks
        self._timings = timings or ShardTimings()
        self._dispatcher = Dispatcher()
        self._context: ShardContext | None = None  # built once /gateway/bot is known
        self._presence = config.presence
        self._status_listeners: list[StatusListener] = []
        self._notice_listeners: list[NoticeListener] = []
        self.budget: IdentifyBudget | None = None
        self._listener_tasks: set[asyncio.Task[Any]] = set()
        self.shards: list[Shard] = []
        self.gateway_bot: dict[str, Any] | None = None
        self.failure_reason: str | None = None
        self._status: AggregateStatus = "idle"
        self._boot: asyncio.Task[None] | None = None
        self._resharding = False
        self._changed = asyncio.Event()
        self._redis = redis_client(config.redis_url) if config.redis_url else None
        sessions: SessionBackend | None = None
        if config.leases is not None:  # checkpoints fenced by lease
            sessions = config.leases.sessions(clocks)
        elif self._redis is not None:
            sessions = RedisSessionStore(self._redis, clocks=clocks)
        elif config.state_dir is not None:
            sessions = SessionStore(config.state_dir, clocks=clocks)
        if sessions is not None and config.checkpoint_barrier is not None:
            sessions = JournalFirst(sessions, config.checkpoint_barrier)
        self._store = sessions
        interval = self._timings.checkpoint_interval
        self._checkpoints = (
            Checkpointer(sessions, lambda: self.shards, interval=interval)
            if sessions is not None
            else None
        )

    # ---- registration -------------------------------------------------------------------
    def on(self, event: str, handler: Handler) -> Handler:
        return self._dispatcher.on(event, handler)

    def on_inline(self, event: str, handler: InlineHandler) -> InlineHandler:
        return self._dispatcher.on_inline(event, handler)

    def on_status(self, callback: StatusListener) -> StatusListener:
        """`callback(status, reason)` on every change of the aggregate status."""
        self._status_listeners.append(callback)
        return callback

    def on_notice(self, callback: NoticeListener) -> NoticeListener:
        """`callback(text)` for what an operator should hear of (the audit log)."""
        self._notice_listeners.append(callback)
        return callback

    def _notice(self, text: str) -> None:
        for listener in self._notice_listeners:
            try:
                listener(text)
            except Exception:
                log.exception("gateway notice listener failed")

    def identify_wait(self) -> dict[str, Any] | None:
        """{"reason", "until"} while identifies wait for the session start limit's reset."""
        return self.budget.waiting if self.budget is not None else None

    # ---- state --------------------------------------------------------------------------
    def status(self) -> AggregateStatus:
        return self._status

    @property
    def application_id(self) -> str | None:
        return next((s.application_id for s in self.shards if s.application_id), None)

    def snapshot(self) -> list[dict[str, Any]]:
        return [shard.snapshot() for shard in self.shards]

    @property
    def dispatcher(self) -> Dispatcher:
        """What every shard hands its dispatches to (the handlers of `on` and `on_inline`)."""
        return self._dispatcher

    @property
    def session_store(self) -> SessionBackend | None:
        """Where sessions are checkpointed and loaded from (None: no store configured)."""
        return self._store

    @property
    def checkpoints(self) -> Checkpointer | None:
        """The session checkpoints while running (None: no session store configured)."""
        return self._checkpoints

    @property
    def handler_tasks(self) -> int:
        return len(self._dispatcher.tasks)

    async def wait_for(self, *statuses: str) -> str:
        """Wait until the aggregate status is one of `statuses`; returns it (wrap in a timeout)."""
        while self._status not in statuses:
            self._changed.clear()
            await self._changed.wait()
        return self._status

    def _aggregate(self) -> AggregateStatus:
        if self.failure_reason is not None:
            return "failed"
        if self._resharding:
            return "connecting"
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
        if status is ShardStatus.READY and self._checkpoints is not None:
            self._checkpoints.poke()
        sharding_required = shard.last_close_code == CLOSE_SHARDING_REQUIRED
        if status is ShardStatus.FAILED and sharding_required and self.config.shard_count is None:
            if not self._resharding:  # checklist 19: SHARD_COUNT not pinned, reshard
                self._resharding = True
                self._boot = asyncio.create_task(self._reshard(), name="gateway-reshard")
        self._refresh()

    async def _reshard(self) -> None:
        """Close 4011: every shard stopped (their sessions are of the old count), then started
        again with the count /gateway/bot now recommends."""
        old = len(self.shards) and self.shards[0].shard_count
        text = f"close 4011 (sharding required) with {old} shard(s): resharding"
        log.warning("gateway: %s", text)
        self._notice(text)
        if self.config.leases is not None:  # every node's count, raised (leases.py)
            try:
                count = int((await self._fetch_gateway_bot()).get("shards") or 1)
                if count <= old:
                    self._fail(f"sharding required, but /gateway/bot still recommends {count}")
                else:
                    await self.config.leases.reshard(count)
            finally:
                self._resharding = False
            return
        try:
            if self._checkpoints is not None:
                await self._checkpoints.stop()
            await asyncio.gather(*(s.stop(resumable=False) for s in self.shards))
            if self._store is not None:
                await self._store.clear_all([s.shard_id for s in self.shards])
            self.shards = []
        finally:
            self._resharding = False
        await self._start_shards(more_than=old)

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
        return await fetch_gateway_bot(self._fetch, self._timings, self._clocks)

    async def _refresh_limit(self) -> dict[str, Any]:
        """The budget's refresh: one GET /gateway/bot (its URL is kept for identifies)."""
        info = await self._fetch()
        self.gateway_bot = info
        limit: dict[str, Any] = info.get("session_start_limit") or {}
        return limit

    async def _start_shards(self, *, more_than: int = 0) -> None:
        try:
            try:
                info = await self._fetch_gateway_bot()
            except Exception as exc:
                if not getattr(exc, "permanent", False):
                    raise
                self._fail(f"GET /gateway/bot: {exc}")  # no retry helps (a refused token)
                return
            self.gateway_bot = info
            cfg = self.config
            count = cfg.shard_count or int(info.get("shards") or 1)
            ids = list(cfg.shard_ids) if cfg.shard_ids is not None else list(range(count))
            ids = [] if cfg.leases is not None else ids  # auto: each started with its lease
            if (not ids and cfg.leases is None) or any(not 0 <= i < count for i in ids):
                self._fail(f"shard ids {ids} do not fit shard count {count}")
                return
            if count <= more_than:
                self._fail(f"sharding required, but /gateway/bot still recommends {count}")
                return
            limit = info.get("session_start_limit") or {}
            saved = await self._store.load_all(count, ids) if self._store is not None else {}
            identifies = sum(1 for i in ids if i not in saved)
            remaining = int(limit.get("remaining", identifies))
            if remaining < identifies:
                reset_after = float(limit.get("reset_after", 0)) / 1000.0
                self._fail(
                    f"session start limit: {remaining} identifies left, {identifies} needed;"
                    f" resets in {reset_after:.0f} s"
                )
                return
            clocks = self._clocks
            self.budget = IdentifyBudget(
                limit, self._refresh_limit, on_wait=self._notice, clocks=clocks
            )
            concurrency = int(limit.get("max_concurrency", 1))
            interval = self._timings.identify_interval
            throttle: IdentifyGate = (
                RedisIdentifyLock(self._redis, concurrency, clocks=clocks)
                if self._redis is not None
                else IdentifyThrottle(concurrency, interval=interval, clocks=clocks)
            )
            self._context = ShardContext(
                token=cfg.token,
                intents=cfg.intents,
                gateway_url=self._gateway_url,
                compression=cfg.compression,
                dispatch=self._dispatcher,
                on_status=self._shard_status,
                identify_gate=throttle,
                identify_budget=self.budget,
                timings=self._timings,
                clocks=clocks,
            )
            self.shards = [self._make_shard(i, count, saved.get(i)) for i in ids]
            log.info("gateway starting %d shard(s) of %d, %d resuming", len(ids), count, len(saved))
            for shard in self.shards:
                shard.start()
            if self._checkpoints is not None:
                self._checkpoints.start()
            if cfg.leases is not None:
                await cfg.leases.start(self, count)
        finally:
            self._boot = None
            self._refresh()

    def add_shard(
        self, shard_id: int, count: int, saved: SessionState | None, *, lease: Fence | None
    ) -> Shard:
        """Start one more shard (a lease taken: leases.py), resuming `saved` if given."""
        shard = self._make_shard(shard_id, count, saved)
        shard.lease = lease
        self.shards.append(shard)
        self.shards.sort(key=lambda s: s.shard_id)
        shard.start()
        self._refresh()
        return shard

    def remove_shard(self, shard: Shard) -> None:
        """Forget a shard already stopped (its lease given up or lost)."""
        if shard in self.shards:
            self.shards.remove(shard)
            self._refresh()

    def _make_shard(self, shard_id: int, count: int, saved: SessionState | None) -> Shard:
        assert self._context is not None, "shards are made once /gateway/bot is known"
        return Shard(shard_id, count, self._context, session=saved, presence=self._presence)

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
        if self.config.leases is not None:  # hand every shard over (saved, released)
            await self.config.leases.stop()
        if self._checkpoints is not None:
            await self._checkpoints.stop()
        results = await asyncio.gather(*(s.stop(resumable=resumable) for s in self.shards))
        if self._store is not None:
            sessions = [s for s in results if s is not None]
            if resumable and sessions:
                await self._store.save_all(sessions)
                log.info("gateway sessions saved for resume: %d", len(sessions))
            else:
                await self._store.clear_all([s.shard_id for s in self.shards])
        if self._listener_tasks:  # let status listeners (audit log) finish, briefly
            await asyncio.wait(list(self._listener_tasks), timeout=LISTENER_GRACE)
        pending = list(self._dispatcher.tasks) + list(self._listener_tasks)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self.shards = []
        self.failure_reason = None
        if self._redis is not None:
            await self._redis.aclose()  # reconnects by itself if started again
        self._refresh()

    async def restart(self, resumable: bool = True) -> None:
        await self.stop(resumable=resumable)
        await self.start()

    async def update_presence(
        self, status: str, type: int, name: str, *, shards: Sequence[int] | None = None
    ) -> int:
        """Send op 3 to every READY shard of `shards` (default: all) and use it for their later
        IDENTIFYs; the shards left out keep theirs. Returns how many were sent."""
        presence = presence_payload(status, type, name)
        if shards is None:
            self._presence = presence
        return await send_presence(self.shards, presence, shards)
