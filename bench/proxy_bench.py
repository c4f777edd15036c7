"""The REST proxy's overhead per request: the same Discord call made directly to the simulator
and through the proxy (`/discord/api/v10/...` of the server), in the same run, at RATE
requests/s each, in alternating quarter-second blocks.

The simulator runs in a child process (tests/support/harness/sim_process.py), the server as
`uvicorn asgi_app:app` in another (production mode, its DiscordRest pointed at the simulator),
and this process is the client (one keep-alive httpx.AsyncClient per path). The call is
`PATCH /webhooks/{application_id}/{token}/messages/@original` (what a main app sends most:
editing its deferred reply), a token route, so Discord's global 50/s limit does not cap the
rate; each request has its own token (its own bucket), so no bucket wait is measured either.
Overhead = proxied latency - direct latency, at p50 and p99 (client-side, call to answer).

    .venv/bin/python bench/proxy_bench.py [--rate 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from bench.relay_ack_bench import schedstat
from gateway.rest.client import USER_AGENT
from tests.support.harness.app import AUTH_TOKEN, ORIGIN
from tests.support.harness.process import VENV_BIN, ServerProcess, clean_env
from tests.support.harness.relay_stack import percentile
from tests.support.harness.server import free_port
from tests.support.harness.sim_process import sim_process

APPLICATION_ID = "1000"  # the simulator's default application


async def paced_block(
    rate: float, count: int, one: Callable[[], Awaitable[float]], into: list[float]
) -> None:
    """`count` calls started at `rate`/s (open loop), their latencies appended to `into`."""
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def timed() -> None:
        into.append(await one())

    tasks = []
    for i in range(count):
        await asyncio.sleep(max(0.0, start + i / rate - loop.time()))
        tasks.append(asyncio.create_task(timed()))
    await asyncio.gather(*tasks)


def caller(
    client: httpx.AsyncClient, prefix: str, counter: list[int]
) -> Callable[[], Awaitable[float]]:
    async def one() -> float:
        counter[0] += 1
        path = f"{prefix}/webhooks/{APPLICATION_ID}/bench-token-{counter[0]}/messages/@original"
        started = time.perf_counter()
        answer = await client.patch(path, json={"content": "edited"})
        took = time.perf_counter() - started
        if answer.status_code != 200:
            raise RuntimeError(f"{prefix or 'direct'}: {answer.status_code} {answer.text[:200]}")
        return took

    return one


async def main(rate: float, seconds: int) -> None:
    async with sim_process() as sim:
        port = free_port()
        state = Path(tempfile.mkdtemp(prefix="proxy-bench-"))
        env = clean_env(
            APP_ENV="production",
            BOT_TOKEN=sim.token,
            AUTH_TOKEN=AUTH_TOKEN,
            ORIGIN_URL=ORIGIN,
            DISCORD_API_BASE=sim.api_base,
            STATE_DIR=str(state),
            LOG_LEVEL="WARNING",
        )
        args = [str(VENV_BIN / "uvicorn"), "asgi_app:app", "--port", str(port), "--no-access-log"]
        server = ServerProcess(args, env=env, cwd=state).start()
        base = f"http://127.0.0.1:{port}"
        try:
            await server.wait_http(base + "/livez")
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
            async with (
                httpx.AsyncClient(
                    base_url=sim.api_base,
                    headers={"User-Agent": USER_AGENT},
                    limits=limits,
                    timeout=10,
                ) as direct,
                httpx.AsyncClient(
                    base_url=base,
                    headers={"Authorization": AUTH_TOKEN},
                    limits=limits,
                    timeout=10,
                ) as proxied,
            ):
                counter = [0]
                paths = {
                    "direct": caller(direct, "", counter),
                    "proxied": caller(proxied, "/discord/api/v10", counter),
                }
                # warm both paths (connections, the server's first requests)
                for one in paths.values():
                    await paced_block(rate, int(rate) // 2, one, [])
                latencies: dict[str, list[float]] = {name: [] for name in paths}
                assert server.proc is not None
                cpu_before, waited_before = schedstat(server.proc.pid)
                block = max(1, int(rate) // 4)  # short blocks: both paths see the same load
                for _ in range(seconds * 4):
                    for name, one in paths.items():
                        await paced_block(rate, block, one, latencies[name])
                cpu_after, waited_after = schedstat(server.proc.pid)
        finally:
            await server.terminate(signal.SIGTERM)
    sent = len(latencies["proxied"])
    print(f"proxy_bench: {sent} requests per path at {rate:g}/s each")
    print(
        f"  server CPU per proxied request {(cpu_after - cpu_before) / sent * 1000:.3f} ms, "
        f"runnable but waiting for a CPU {(waited_after - waited_before) / sent * 1000:.3f} ms"
    )
    for p in (50, 99):
        d = percentile(latencies["direct"], p) * 1000
        q = percentile(latencies["proxied"], p) * 1000
        print(f"  p{p}: direct {d:.2f} ms, proxied {q:.2f} ms, overhead {q - d:.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=int, default=10)
    options = parser.parse_args()
    asyncio.run(main(options.rate, options.seconds))
