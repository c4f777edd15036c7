"""One simulator + one GatewayManager on an event loop of their own thread, reused by every
fuzz case (hypothesis runs synchronously; each case is a coroutine submitted to that loop).

The loop's exception handler records anything that escapes to it; a log handler keeps every
record of the gateway loggers. `apply(fault)` injects one fault, `settle()` then proves the
shard is READY again and in step: a marker dispatch is handled exactly once and the shard's
sequence equals the simulator's.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gateway.connection import GatewayConfig, GatewayManager, Shard, ShardStatus
from gateway.simulator import DiscordSimulator
from gateway.simulator.compression import Identity
from tests.support.harness.shards import FAST, fetcher

from .raw import compress_only, encode, newest, send_frame, send_json
from .strategies import Fault

T = TypeVar("T")
SETTLE_TIMEOUT = 10.0


class LogRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._guard:
            self.records.append(record)

    def since(self, index: int) -> list[logging.LogRecord]:
        with self._guard:
            return self.records[index:]

    def __len__(self) -> int:
        return len(self.records)


@dataclass
class Step:
    """What one case did to the shard."""

    fault: Fault
    reconnects: int
    identified: bool
    dropped: int
    duplicates: int
    logs: list[str] = field(default_factory=list)


class GatewayRig:
    def __init__(self, compression: str, *, heartbeat_ms: int = 400, seed: int = 0) -> None:
        self.compression = compression
        self.heartbeat_ms = heartbeat_ms
        self.random = random.Random(seed)
        self.loop = asyncio.new_event_loop()
        self.loop.set_exception_handler(self._loop_exception)
        self.loop_errors: list[dict[str, Any]] = []
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.logs = LogRecords()
        self.markers_sent: list[int] = []
        self.markers_seen: list[int] = []
        self.interactions_seen = 0
        self.seq_trace: list[tuple[str | None, int | None]] = []  # (session, seq) per case
        self.cases = 0
        self.sim: DiscordSimulator
        self.manager: GatewayManager

    # ---- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> GatewayRig:
        for name in ("gateway.shard", "gateway.manager", "gateway.compression"):
            logging.getLogger(name).addHandler(self.logs)
        logging.getLogger("gateway.shard").setLevel(logging.DEBUG)
        self.thread.start()
        self.run(self._start(), 20)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.run(self._stop(), 20)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()
            for name in ("gateway.shard", "gateway.manager", "gateway.compression"):
                logging.getLogger(name).removeHandler(self.logs)
            logging.getLogger("gateway.shard").setLevel(logging.NOTSET)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = SETTLE_TIMEOUT) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.loop_errors.append(context)

    async def _start(self) -> None:
        self.sim = DiscordSimulator(
            heartbeat_interval_ms=self.heartbeat_ms,
            identify_interval=0.0,
            session_start_remaining=10**9,
            session_start_total=10**9,
        )
        await self.sim.start()
        config = GatewayConfig(
            token=self.sim.token,
            intents=1,
            compression=self.compression,  # type: ignore[arg-type]
            api_base=self.sim.api_base,
        )
        self.manager = GatewayManager(config, fetcher(self.sim), timings=FAST)
        self.manager.on("NUMBERED", self._on_numbered)
        self.manager.on("INTERACTION_CREATE", self._on_interaction)
        await self.manager.start()
        async with asyncio.timeout(10):
            await self.manager.wait_for("ready")

    async def _stop(self) -> None:
        await self.manager.stop(resumable=False)
        await self.sim.stop()

    async def _on_numbered(self, data: Any, shard: Shard) -> None:
        self.markers_seen.append(data["n"])

    async def _on_interaction(self, data: Any, shard: Shard) -> None:
        self.interactions_seen += 1
        str(data["id"])  # a handler that trips on data of the wrong shape (logged, no crash)

    @property
    def shard(self) -> Shard:
        return self.manager.shards[0]

    # ---- one case --------------------------------------------------------------------------
    def case(self, fault: Fault) -> Step:
        """Inject `fault`, settle, and report what it did (raises on a broken property)."""
        self.cases += 1
        shard = self.shard
        mark = len(self.logs)
        reconnects, identifies = shard.reconnects, len(self.sim.identifies)
        dropped, duplicates = shard.state.dropped, shard.state.duplicates
        self.run(self._apply(fault))
        self.run(self._settle())
        records = self.logs.since(mark)
        step = Step(
            fault,
            shard.reconnects - reconnects,
            len(self.sim.identifies) > identifies,
            shard.state.dropped - dropped,
            shard.state.duplicates - duplicates,
            [_format(r) for r in records],
        )
        self.run(self._housekeeping())
        return step

    async def _housekeeping(self) -> None:
        """Long runs: the simulator records every event and keeps every connection with its
        compressor (about 1 MiB each for zstd); let go of what past cases left behind."""
        self.sim.events.clear()
        for conn in self.sim.connections:
            if not conn.open:
                conn.compressor = Identity()
        with self.logs._guard:
            self.logs.records.clear()

    async def _apply(self, fault: Fault) -> None:
        sim = self.sim
        await sim.wait_ready()
        conn = newest(sim)
        kind = fault.kind
        if kind == "shape":
            await send_json(conn, self._not_next(fault.payload))
        elif kind == "event":
            name, data = fault.payload
            await sim.dispatch(name, data)
        elif kind == "frame":
            frame = fault.payload
            if fault.size:
                frame = self.random.randbytes(fault.size)
            await send_frame(conn, frame)
        elif kind == "truncated":
            item = {"op": 0, "t": "NUMBERED", "s": 10**6, "d": {"n": -1, "pad": "x" * 300}}
            data = compress_only(conn, item) if conn.compressor.binary else encode(item)
            cut = data[: int(len(data) * fault.cut)]
            await send_frame(
                conn, cut if conn.compressor.binary else cut.decode("utf-8", "replace")
            )
        elif kind == "corrupt":
            sim.corrupt_next_frame()
            await self._marker()  # garbled on the wire; replayed after the resume
        elif kind == "close":
            code, reason = fault.payload
            await sim.close(code, reason.encode()[:100].decode("utf-8", "ignore"))
        elif kind == "hello":
            before = len(sim.connections)
            sim.withhold_hello(True)
            try:
                await sim.drop_connection()
                await sim.wait_for(lambda: len(sim.connections) > before, what="reconnect")
            finally:
                sim.withhold_hello(False)
            await send_json(newest(sim), fault.payload)
        else:  # pragma: no cover
            raise ValueError(kind)

    def _not_next(self, payload: Any) -> Any:
        """A well-formed dispatch numbered exactly next would be a real one (and take the
        simulator's next number): move it one further, into a gap."""
        if isinstance(payload, dict) and payload.get("op") == 0 and type(payload.get("op")) is int:
            s, last = payload.get("s"), self.shard.seq
            if type(s) is int and last is not None and s == last + 1:
                return payload | {"s": s + 1}
        return payload

    async def _marker(self) -> None:
        n = len(self.markers_sent)
        self.markers_sent.append(n)
        await self.sim.dispatch("NUMBERED", {"n": n})

    async def _settle(self) -> None:
        sim = self.sim
        shard = self.shard
        async with asyncio.timeout(SETTLE_TIMEOUT):
            await self._sync()
            while True:
                await sim.wait_ready(timeout=SETTLE_TIMEOUT)
                if shard.status is ShardStatus.READY:
                    session = sim.session()
                    try:
                        await self._marker()
                        break
                    except LookupError:  # the session went away meanwhile: wait again
                        self.markers_sent.pop()
                await asyncio.sleep(0.005)
            while True:
                current = sim.session()
                if current is not session:
                    # The shard gave that session up (op 9, identify close) after the marker
                    # went into it: a dropped session's events are lost by protocol. Again.
                    if self.markers_seen != self.markers_sent:
                        self.markers_sent.pop()
                    return await self._settle_again()
                if (
                    shard.status is ShardStatus.READY
                    and self.markers_seen == self.markers_sent
                    and current is not None
                    and shard.seq == current.seq
                ):
                    break
                if len(self.markers_seen) > len(self.markers_sent):
                    raise AssertionError(f"marker handled twice: {self.markers_seen[-5:]}")
                await asyncio.sleep(0.002)
        self.seq_trace.append((shard.session_id, shard.seq))

    async def _settle_again(self) -> None:
        await self._settle()

    async def _sync(self) -> None:
        """Make sure the shard has read everything sent so far (the fault included): ask for a
        heartbeat (op 1) and wait for it, or for that connection to end."""
        sim = self.sim
        try:
            conn = newest(sim)
        except LookupError:
            return
        before = len(sim.heartbeats)
        await conn.send_payload({"op": 1, "d": None})
        await sim.wait_for(
            lambda: len(sim.heartbeats) > before or not conn.open, SETTLE_TIMEOUT, what="sync"
        )


def _format(record: logging.LogRecord) -> str:
    text = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
        text += f" [{record.exc_info[0].__name__ if record.exc_info[0] else ''}]"
        text += " Traceback"
    return f"{record.levelname} {record.name}: {text}"
