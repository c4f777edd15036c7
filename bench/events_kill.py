"""The long form of tests/events/test_sigkill.py: SIGKILL the server every 10-30 s for 3
minutes while the simulator dispatches 50 events/s and the main app is slow; checks that every
event was delivered at least once, always with the same id, duplicates only where a delivery
was cut by a kill, order per guild kept (tests/support/campaigns/events/kill.py).

    .venv/bin/python bench/events_kill.py [--minutes 3] [--rate 50] [--kill-min 10]
        [--kill-max 30] [--main-delay 0.2] [--redis]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from tests.support.campaigns.events.kill import run, summary
from tests.support.harness.redis_server import redis_server


async def main(args: argparse.Namespace) -> int:
    env: dict[str, str] = {}
    async with contextlib.AsyncExitStack() as stack:
        if args.redis:
            env["REDIS_URL"] = await stack.enter_async_context(redis_server())
        with tempfile.TemporaryDirectory() as state_dir:
            result = await run(
                Path(state_dir),
                duration=args.minutes * 60,
                kill_every=(args.kill_min, args.kill_max),
                rate=args.rate,
                main_delay=args.main_delay,
                drain_timeout=120.0,
                env=env,
            )
    print(summary(result))
    return 1 if result.problems else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--kill-min", type=float, default=10.0)
    parser.add_argument("--kill-max", type=float, default=30.0)
    parser.add_argument("--main-delay", type=float, default=0.2)
    parser.add_argument("--redis", action="store_true", help="the journal in Redis")
    sys.exit(asyncio.run(main(parser.parse_args())))
