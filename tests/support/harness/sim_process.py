"""The Discord simulator and the stand-in main app in a process of their own.

In one process the simulator's own work (encoding and compressing each INTERACTION_CREATE,
parsing each callback, recording everything) and the stand-in main app's would be measured as
the relay's latency. Here they run in a child process driven over stdin/stdout, one JSON object
per line; both instants of an acknowledgement (dispatch frame written, callback request read)
are still taken by the simulator, on its monotonic clock (CLOCK_MONOTONIC, the same in every
process of the machine, so the relay's process can compare its own instants with them).

    python -m tests.support.harness.sim_process --main-delay 5 [--main-body '{"type": 4, ...}']
        [--heartbeat-ms 1000]
prints {"api_base", "token", "main_base"}, then answers one line per command:
    {"op": "burst", "count": N, "rate": R, "mix": "mixed"|"command"} -> {"ids": [...], "took": s}
    {"op": "wait_acked", "ids": [...], "timeout": s}                  -> {"ok": bool}
    {"op": "results", "ids": [...]} -> {"rows": [[type, sent_at, first callback at, ack_type]]}
    {"op": "read_at", "paths": [...]} -> {"at": {path: when the REST server read it}}
    {"op": "main"} -> {"requests": n, "finished": n}
    {"op": "main_times"} -> {"at": [when the main app read each request]}
    {"op": "forwards"} -> {"rows": [[X-Interaction-Id, X-Redelivery or None, path, at]]}
    {"op": "callbacks", "ids": [...]} -> {"counts": {id: callback requests received}}
    {"op": "gateway"} -> {"identifies": n, "resumes": n}
    {"op": "send", "count": N} -> {"ids": [...], "refused": n}  (refused: no resumable session)
    {"op": "fault", "kind": "drop"|"op7"|"op9"} -> {"targets": n}  (op9: op 9 d=true)
    {"op": "records", "ids": [...]} -> {"rows": {id: [callback tries, acknowledged, seq, sent at]}}
    several shards (--shards 8 --max-concurrency 16, nodes_ops.py):
    {"op": "stream_start", "rate": R, "shards": N} -> {"ok": true}   (commands over the shards)
    {"op": "stream_stop"} -> {"ids": [[id, shard], ...], "refused": n}
    {"op": "verdict", "ids": [...]} -> {"rows": {id: [shard, acked in time, callbacks, stale]}}
    {"op": "takeovers"} -> {"rows": [[at, shard, old conn, new conn, kind, live, idle]]}
    {"op": "gateway_log"} -> {"rows": [[at, shard, conn, kind]]}  (IDENTIFY, RESUME, READY,
        RESUMED, close, drop)
    {"op": "open_by_shard"} -> {"open": {shard: open identified connections}}
    {"op": "events_start", "rate": R, "shards": N, "guilds": G} -> {"ok": true}
        (MESSAGE_CREATE over G guilds of each shard)
    {"op": "events_stop"} -> {"sent": [[message id, shard, guild], ...], "refused": n}
    {"op": "event_deliveries"} -> {"rows": [[event id, message id, guild, at, attempt]]}
        (what the main app received on /events)
    {"op": "main_delay", "delay": s} -> {"ok": true, "now": monotonic}  (its answers from now)
    {"op": "quit"}
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from gateway.simulator import DiscordSimulator, NoConnectionError, NoSessionError, factory
from tests.support.harness.json_lines import JsonLineChild, commands, json_line_process, reply
from tests.support.harness.main_app import MainApp
from tests.support.harness.nodes_ops import NODE_OPS, EventStream, Stream, event_deliveries
from tests.support.harness.server import serve


def mixed(i: int) -> dict[str, Any]:
    """The i-th interaction of a mixed burst: commands, buttons (each on its own message, and
    repeated clicks on one message, which get the cooldown reply), modals from a button and
    from a command. Autocomplete is left out: it is answered after the forward, by design."""
    kind = i % 5
    if kind == 0:
        return factory.command()
    if kind == 1:
        return factory.component(message_id=str(5_000_000_000 + i))
    if kind == 2:
        return factory.component()  # the same message every time: cooldown after the first
    if kind == 3:
        return factory.modal_submit(from_message=True, message_id=str(6_000_000_000 + i))
    return factory.modal_submit()


async def _burst(sim: DiscordSimulator, count: int, rate: float, mix: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    ids: list[str] = []
    for i in range(count):
        wait = start + i / rate - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        payload = mixed(i) if mix == "mixed" else factory.command()
        ids.append(str((await sim.send_interaction(payload))["id"]))
    return {"ids": ids, "took": loop.time() - start}


async def _wait_acked(sim: DiscordSimulator, ids: list[str], timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = [sim.interaction(i) for i in ids]
        if all(r is not None and r.callbacks for r in records):
            return {"ok": True}
        await asyncio.sleep(0.01)
    return {"ok": False}


def _results(sim: DiscordSimulator, ids: list[str]) -> dict[str, Any]:
    rows: list[list[Any]] = []
    for i in ids:
        r = sim.interaction(i)
        if r is None:
            rows.append([None, None, None, None])
            continue
        first = r.callbacks[0].at if r.callbacks else None
        rows.append([r.type, r.sent_at, first, r.ack_type])
    return {"rows": rows}


def _forwards(main: MainApp) -> dict[str, Any]:
    rows = [
        [f.headers.get("x-interaction-id"), f.headers.get("x-redelivery"), f.path, f.at]
        for f in main.requests
    ]
    return {"rows": rows}


def _callbacks(sim: DiscordSimulator, ids: list[str]) -> dict[str, Any]:
    records = {i: sim.interaction(i) for i in ids}
    return {"counts": {i: len(r.callbacks) if r else 0 for i, r in records.items()}}


async def _send(sim: DiscordSimulator, count: int) -> dict[str, Any]:
    ids: list[str] = []
    refused = 0
    for _ in range(count):
        try:
            ids.append(str((await sim.send_interaction(factory.command()))["id"]))
        except NoSessionError:
            refused += 1
    return {"ids": ids, "refused": refused}


async def _fault(sim: DiscordSimulator, kind: str) -> dict[str, Any]:
    try:
        if kind == "drop":
            return {"targets": await sim.drop_connection()}
        if kind == "op7":
            return {"targets": await sim.reconnect_op7()}
        return {"targets": await sim.invalid_session(True)}
    except (NoConnectionError, ConnectionError):
        return {"targets": 0}


def _records(sim: DiscordSimulator, ids: list[str]) -> dict[str, Any]:
    records = {i: sim.interaction(i) for i in ids}
    return {
        "rows": {
            i: [len(r.callbacks), r.acked_at is not None, r.seq, r.sent_at]
            if r
            else [0, False, None, None]
            for i, r in records.items()
        }
    }


async def _serve(
    main_delay: float,
    main_body: bytes | None,
    heartbeat_ms: int | None,
    sim_options: dict[str, Any] | None = None,
) -> None:
    main = MainApp(delay=main_delay) if main_body is None else MainApp(main_delay, body=main_body)
    options: dict[str, Any] = (
        {} if heartbeat_ms is None else {"heartbeat_interval_ms": heartbeat_ms}
    ) | (sim_options or {})
    stream: Stream | None = None
    events: EventStream | None = None
    async with DiscordSimulator(**options) as sim, serve(main) as main_base:
        reply({"api_base": sim.api_base, "token": sim.token, "main_base": main_base})
        async for cmd in commands(limit=64 * 1024 * 1024):  # a verdict on every id of a run
            op = cmd["op"]
            if op == "burst":
                reply(await _burst(sim, cmd["count"], cmd["rate"], cmd.get("mix", "command")))
            elif op == "wait_acked":
                reply(await _wait_acked(sim, cmd["ids"], cmd["timeout"]))
            elif op == "results":
                reply(_results(sim, cmd["ids"]))
            elif op == "read_at":
                wanted = set(cmd["paths"])
                reply({"at": {r.path: r.at for r in sim.rest.requests if r.path in wanted}})
            elif op == "main":
                reply({"requests": len(main.requests), "finished": main.finished})
            elif op == "main_times":
                reply({"at": [r.at for r in main.requests]})
            elif op == "forwards":
                reply(_forwards(main))
            elif op == "callbacks":
                reply(_callbacks(sim, cmd["ids"]))
            elif op == "send":
                reply(await _send(sim, cmd["count"]))
            elif op == "fault":
                reply(await _fault(sim, cmd["kind"]))
            elif op == "records":
                reply(_records(sim, cmd["ids"]))
            elif op == "stream_start":
                stream = Stream(sim, cmd["rate"], cmd["shards"])
                reply({"ok": True})
            elif op == "stream_stop" and stream is not None:
                reply(await stream.stop())
            elif op == "events_start":
                events = EventStream(sim, cmd["rate"], cmd["shards"], cmd.get("guilds", 1))
                reply({"ok": True})
            elif op == "events_stop" and events is not None:
                reply(await events.stop())
            elif op == "event_deliveries":
                reply(event_deliveries(main))
            elif op == "main_delay":
                main.delay = cmd["delay"]
                reply({"ok": True, "now": time.monotonic()})
            elif op in NODE_OPS:
                reply(NODE_OPS[op](sim, cmd))
            elif op == "gateway":
                reply({"identifies": len(sim.identifies), "resumes": len(sim.resumes)})
            else:
                reply({"error": f"unknown op {op!r}"})


class SimProcess(JsonLineChild):
    """The relay's side of the child process (or of tests/support/harness/events_sim.py's: the
    same hello)."""

    def __init__(self, proc: asyncio.subprocess.Process, hello: dict[str, Any]) -> None:
        super().__init__(proc, hello)
        self.api_base: str = hello["api_base"]
        self.token: str = hello["token"]
        self.main_base: str = hello["main_base"]


@asynccontextmanager
async def sim_process(
    main_delay: float = 0.0,
    main_body: bytes | None = None,
    heartbeat_ms: int | None = None,
    shards: int | None = None,
) -> AsyncIterator[SimProcess]:
    """`main_body`: what the stand-in main app answers (default `{"ok": true}`);
    `heartbeat_ms`: the simulator's heartbeat interval (its default otherwise); `shards`: the
    shard count /gateway/bot recommends (with max_concurrency 16: no identify waits)."""
    body_args = ["--main-body", main_body.decode()] if main_body is not None else []
    if heartbeat_ms is not None:
        body_args += ["--heartbeat-ms", str(heartbeat_ms)]
    if shards is not None:
        body_args += ["--shards", str(shards), "--max-concurrency", "16"]
    async with json_line_process(
        SimProcess,
        "tests.support.harness.sim_process",
        "--main-delay",
        str(main_delay),
        *body_args,
        limit=16 * 1024 * 1024,
    ) as sim:
        yield sim


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="simulator + stand-in main app, driven on stdin")
    parser.add_argument("--main-delay", type=float, default=0.0)
    parser.add_argument("--main-body", default=None, help="the main app's answer (JSON)")
    parser.add_argument("--heartbeat-ms", type=int, default=None)
    parser.add_argument("--shards", type=int, default=None)
    parser.add_argument("--max-concurrency", type=int, default=None)
    args = parser.parse_args()
    body = args.main_body.encode() if args.main_body is not None else None
    sim_options = {
        key: value
        for key, value in (("shards", args.shards), ("max_concurrency", args.max_concurrency))
        if value is not None
    }
    asyncio.run(_serve(args.main_delay, body, args.heartbeat_ms, sim_options))
