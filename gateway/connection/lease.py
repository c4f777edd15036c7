"""One lease and what it fences (leases.py has the whole story; lease_store.py the Redis side).

- `LeaseTimings`: every timing of the leases in one object (`scaled(ttl)` for tests).
- `Lease`: one lease held. `valid()` is the local deadline (the renewal's start + ttl - margin
  on the monotonic clock: a node frozen past it finds it false on waking, before any send);
  `confirm()` asks Redis (the fencing number still ours) and renews; it runs before every
  IDENTIFY and RESUME.
- `FencedSessionStore`: session checkpoints written only while the shard's lease holds.
- `RoleLease`: a role one node plays at a time (the timers' runner), with the same lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from redis.asyncio import Redis

from gateway.clock import SYSTEM_CLOCKS, Clock, Clocks
from gateway.connection.lease_store import LeaseStore
from gateway.connection.redis_store import PREFIX, RedisSessionStore
from gateway.connection.session import SessionState
from gateway.private_files import FILE_MODE, private_dir

log = logging.getLogger("gateway.leases")


LEASE_TTL = 15.0


@dataclass(frozen=True, slots=True)
class LeaseTimings:
    ttl: float = LEASE_TTL  # a lease lives this long after its last renewal
    renew: float = 5.0  # heartbeat: renewals, dead nodes, the plan
    settle: float = 2.0  # a starting node waits this long to see its peers before taking
    grace: float = 5.0  # a free shard planned for another node is anyone's after this
    margin: float = 1.0  # trusted locally until the renewal's start + ttl - margin
    slack: float = 0.05  # after another node's lease expires, look again this much later

    @classmethod
    def scaled(cls, ttl: float) -> LeaseTimings:
        """The same proportions for a shorter lease (tests: SHARD_LEASE_SECONDS)."""
        f = ttl / LEASE_TTL
        return cls(ttl=ttl, renew=5 * f, settle=2 * f, grace=5 * f, margin=f, slack=0.05)

    @property
    def ttl_ms(self) -> int:
        return int(self.ttl * 1000)


NODE_FILE = "node-name"


def node_id(state_dir: Path | None = None) -> str:
    """`name~incarnation`: the name is kept in STATE_DIR (`node-name`), so a process started
    again on the same STATE_DIR after a crash is known as a later incarnation of the same node
    and takes its own leases back at once (lease_store.py) instead of waiting them out."""
    incarnation = f"{os.getpid()}{secrets.token_hex(2)}"
    if state_dir is None:
        return f"{socket.gethostname()}-{secrets.token_hex(3)}~{incarnation}"
    path = private_dir(state_dir) / NODE_FILE
    try:
        name = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        name = ""
    if not name or "~" in name or "|" in name:
        name = f"{socket.gethostname()}-{secrets.token_hex(3)}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(name + "\n")
    return f"{name}~{incarnation}"


@dataclass(eq=False)
class Lease:
    """One lease this node holds. `valid()` (local, every send) and `confirm()` (Redis,
    before IDENTIFY/RESUME) are the fence a shard checks (shard.Fence)."""

    name: str
    fence: int
    token: str
    taken_at: float  # unix s
    valid_until: float  # monotonic
    clock: Clock = field(repr=False)
    store: LeaseStore = field(repr=False)
    timings: LeaseTimings = field(repr=False)
    renewed_at: float = 0.0  # unix s
    lost: bool = False

    @classmethod
    def taken(
        cls,
        name: str,
        fence: int,
        started: float,
        store: LeaseStore,
        timings: LeaseTimings,
        clocks: Clocks,
    ) -> Lease:
        """The lease `store.acquire` just gave, asked for at monotonic `started`."""
        wall = clocks.wall()
        valid_until = started + timings.ttl - timings.margin
        token = store.token(fence)
        return cls(
            name, fence, token, wall, valid_until, clocks.monotonic, store, timings, renewed_at=wall
        )

    def valid(self) -> bool:
        return not self.lost and self.clock() < self.valid_until

    def renewed(self, started: float, wall: float) -> None:
        self.valid_until = started + self.timings.ttl - self.timings.margin
        self.renewed_at = wall

    async def confirm(self) -> bool:
        started = self.clock()
        # In a task of its own, shielded: a shard stopped meanwhile is cancelled at once (the
        # Redis client does not always let a cancellation through), bounded by the margin.
        call = asyncio.ensure_future(self.store.confirm(self.name, self.token, self.timings.ttl_ms))
        try:
            held = await asyncio.wait_for(asyncio.shield(call), self.timings.margin)
        except Exception as exc:
            log.warning("lease %s: not confirmed (%s)", self.name, exc.__class__.__name__)
            return False
        if held:
            deadline = started + self.timings.ttl - self.timings.margin
            self.valid_until = max(self.valid_until, deadline)
        else:
            self.lost = True
            log.warning("lease %s (fence %d): held by another node now", self.name, self.fence)
        return held


@dataclass
class LeaseStats:
    taken: int = 0  # every lease taken
    takeovers: int = 0  # taken after another node's lease expired (it died or froze)
    handovers: int = 0  # taken after another node released it (SIGTERM, balancing)
    released: int = 0  # given up by this node
    lost: int = 0  # found held by another node, or past its deadline unrenewed
    adopted: int = 0  # dead nodes whose leftovers this node took over


class FencedSessionStore(RedisSessionStore):
    """Session checkpoints written only by the holder of the shard's lease (one script per
    session: the lease's value checked, then the SET). `held`: the node's leases by shard."""

    def __init__(
        self,
        client: Redis,
        store: LeaseStore,
        held: Mapping[int, Lease],
        *,
        clocks: Clocks = SYSTEM_CLOCKS,
    ) -> None:
        super().__init__(client, clocks=clocks)
        self._leases = store
        self._held = held

    async def save_all(self, sessions: list[SessionState]) -> None:
        now = self._clock()
        store = self._leases
        async with self._client.pipeline(transaction=False) as pipe:
            queued = 0
            for s in sessions:
                lease = self._held.get(s.shard_id)
                if lease is None or not lease.valid():
                    continue
                body = orjson.dumps(asdict(s) | {"saved_at": now})
                keys = [self.key(s.shard_id), store.key(str(s.shard_id))]
                await store.fenced_set(keys, [body, int(self.max_age * 1000), lease.token], pipe)
                queued += 1
            if queued:
                await pipe.execute()


class RoleLease:
    """A role one node plays at a time (`role:{name}`): taken when free, renewed every
    `renew` seconds through `confirm()`, given up at stop. `active()` is the fence the role's
    work checks before each action; `on_change(True/False)` when it is gained or lost."""

    def __init__(
        self,
        client: Redis,
        name: str,
        on_change: Callable[[bool], Any],
        *,
        node: str | None = None,
        timings: LeaseTimings | None = None,
        prefix: str = PREFIX,
        clocks: Clocks = SYSTEM_CLOCKS,
    ) -> None:
        self.name = f"role:{name}"
        self.timings = timings or LeaseTimings()
        self.store = LeaseStore(client, node or node_id(), prefix)
        self.lease: Lease | None = None
        self._on_change = on_change
        self._clocks = clocks
        self._clock = clocks.monotonic
        self._task: asyncio.Task[None] | None = None

    def active(self) -> bool:
        return self.lease is not None and self.lease.valid()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        lease, self.lease = self.lease, None
        if lease is not None:
            self._on_change(False)
            with contextlib.suppress(Exception):
                await self.store.release({lease.name: lease.token})

    async def _run(self) -> None:
        while True:
            try:
                await self._step()
            except Exception as exc:
                log.warning("%s: step failed (%s)", self.name, exc.__class__.__name__)
            lease = self.lease
            wait = self.timings.renew
            if lease is not None:
                wait = min(wait, lease.valid_until - self._clock() + 0.01)
            await asyncio.sleep(max(0.0, wait))

    async def _step(self) -> None:
        lease = self.lease
        if lease is not None and (not lease.valid() or not await lease.confirm()):
            self.lease = None
            log.warning("%s: lease lost", self.name)
            self._on_change(False)
            return
        if lease is not None:
            return
        started = self._clock()
        taken = await self.store.acquire(self.name, self.timings.ttl_ms)
        if taken is None:
            return
        self.lease = Lease.taken(
            self.name, taken.fence, started, self.store, self.timings, self._clocks
        )
        log.info("%s: taken by %s (fence %d)", self.name, self.store.node, taken.fence)
        self._on_change(True)
