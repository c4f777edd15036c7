"""SIGKILL while acknowledged interactions wait for a slow main app, then a restart on the same
STATE_DIR (issue 16 "Shows it works", CONTRACT step 5).

Three processes: the server under test (a real uvicorn running `asgi_app:app`), the simulator
with the stand-in main app (`tests.support.harness.sim_process`, so it outlives the server), and
this
test. The main app takes `main_delay` s per forward, so at the SIGKILL every interaction is
acknowledged and forwarded but not finished.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.connection.session import FILE_NAME as SESSION_FILE
from tests.support.harness.server import free_port
from tests.support.harness.sim_process import sim_process
from tests.support.harness.uvicorn_server import start_server as _server


@dataclass
class CrashResult:
    ids: list[str]  # the interactions sent (all acknowledged before the SIGKILL)
    forwards_before: list[list[Any]]  # [id, X-Redelivery, path, at] seen before the SIGKILL
    forwards_after: list[list[Any]]  # the ones that came after it
    callbacks: dict[str, int]  # callback requests per id, over both processes
    checkpoint_on_disk: bool  # a session checkpoint was in STATE_DIR at the SIGKILL
    gateway_before: dict[str, int]  # identifies, resumes of the first process
    gateway_after: dict[str, int]
    main_finished: int  # forwards the main app answered (to either process)
    output: str = ""
    log_lines: list[str] = field(default_factory=list)


async def _until(check: Any, what: str, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def sigkill_with_acknowledged(
    state_dir: Path,
    *,
    count: int = 10,
    main_delay: float = 4.0,
    settle_timeout: float = 40.0,
    **env: str,
) -> CrashResult:
    state_dir.mkdir(parents=True, exist_ok=True)
    async with sim_process(main_delay=main_delay, heartbeat_ms=1000) as sim:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        first = _server(sim, state_dir, port, **env)
        try:
            await first.wait_http(url + "/health")
            # A heartbeat or two, so a running checkpoint (checklist 15) has had its chance.
            await asyncio.sleep(2.5)
            ids: list[str] = (await sim.call("burst", count=count, rate=50.0))["ids"]
            acked = await sim.call("wait_acked", ids=ids, timeout=10)
            assert acked["ok"], "not every interaction was acknowledged"

            async def all_forwarded() -> bool:
                return bool((await sim.call("main"))["requests"] >= count)

            await _until(all_forwarded, "the forwards of the first process", 10)
            gateway_before = await sim.call("gateway")
            checkpoint = (state_dir / SESSION_FILE).exists()
            await first.terminate(signal.SIGKILL)
        finally:
            first.stop()
        forwards_before = (await sim.call("forwards"))["rows"]

        second = _server(sim, state_dir, port, **env)
        try:
            await second.wait_http(url + "/health")

            async def redelivered_and_answered() -> bool:
                main = await sim.call("main")
                return bool(main["requests"] >= 2 * count and main["finished"] >= 2 * count)

            try:
                await _until(redelivered_and_answered, "the redeliveries", settle_timeout)
            except AssertionError:
                pass  # what is missing shows in the result
            # The finish after the main app's answer, then the journal write.
            await asyncio.sleep(1.0)
            gateway_after = await sim.call("gateway")
            rows = (await sim.call("forwards"))["rows"]
            callbacks = (await sim.call("callbacks", ids=ids))["counts"]
            main_finished = (await sim.call("main"))["finished"]
        finally:
            await second.terminate(signal.SIGTERM)
        return CrashResult(
            ids=ids,
            forwards_before=forwards_before,
            forwards_after=rows[len(forwards_before) :],
            callbacks=callbacks,
            checkpoint_on_disk=checkpoint,
            gateway_before=gateway_before,
            gateway_after=gateway_after,
            main_finished=main_finished,
            output=first.output + second.output,
        )
