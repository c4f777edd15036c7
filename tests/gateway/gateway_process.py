"""A gateway process for the multi-process tests: a GatewayManager configured from the
environment, printing one JSON line per event the test waits for. SIGTERM stops it cleanly;
the tests SIGKILL it to crash it.

Environment: API_BASE, BOT_TOKEN, SHARD_COUNT, SHARD_IDS (comma separated), STATE_DIR,
REDIS_URL (optional), CHECKPOINT_INTERVAL (seconds, optional).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
import orjson

from gateway.connection import GatewayConfig, GatewayManager, Shard, ShardTimings
from gateway.user_agent import USER_AGENT


def emit(**fields: Any) -> None:
    sys.stdout.write(orjson.dumps(fields).decode() + "\n")
    sys.stdout.flush()


async def main() -> None:
    env = os.environ
    api_base, token = env["API_BASE"], env["BOT_TOKEN"]
    headers = {"Authorization": f"Bot {token}", "User-Agent": USER_AGENT}
    async with httpx.AsyncClient(headers=headers) as client:

        async def fetch() -> dict[str, Any]:
            response = await client.get(f"{api_base}/gateway/bot")
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            return body

        interval = env.get("CHECKPOINT_INTERVAL")
        manager = GatewayManager(
            GatewayConfig(
                token=token,
                intents=1,
                shard_count=int(env["SHARD_COUNT"]),
                shard_ids=[int(i) for i in env["SHARD_IDS"].split(",")],
                state_dir=Path(env["STATE_DIR"]),
                api_base=api_base,
                redis_url=env.get("REDIS_URL") or None,
            ),
            fetch,
            timings=ShardTimings(checkpoint_interval=float(interval) if interval else None),
        )

        async def numbered(data: Any, shard: Shard) -> None:
            emit(event="NUMBERED", n=data["n"], shard=shard.shard_id, seq=shard.seq)

        manager.on("NUMBERED", numbered)
        manager.on_status(lambda status, reason: emit(status=status))
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await manager.start()
        await stop.wait()
        await manager.stop(resumable=True)


if __name__ == "__main__":
    asyncio.run(main())
