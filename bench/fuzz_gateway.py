"""Long gateway-input fuzzing run: the campaign of tests/fuzz_gateway (hypothesis-drawn hostile
input from the simulator to one GatewayManager) in each compression mode, with figures.

    .venv/bin/python bench/fuzz_gateway.py --cases 3000            # per mode
    .venv/bin/python bench/fuzz_gateway.py --duration 600 --seed 1 # seconds per mode

Prints, per mode: cases, reconnects, identifies, dispatches dropped, crashes (exceptions that
reached the loop's handler or "unexpected error" logs), failed cases (a broken property, with
the fault), duration and the process's peak RSS. Exit status 1 when anything failed.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.campaigns.fuzz_gateway import campaign

MODES = ("none", "zlib-stream", "zstd-stream")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000, help="cases per mode")
    parser.add_argument("--duration", type=float, default=None, help="seconds per mode (cap)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args()
    # the shard's INFO lines (causes) are produced and judged, as in production
    logging.getLogger().setLevel(logging.INFO)
    logging.getLogger().addHandler(logging.NullHandler())
    cases = args.cases if args.duration is None else 10**9
    total_failed = 0
    started = time.monotonic()
    for mode in args.modes.split(","):
        figures = campaign.run(mode, cases, seed_value=args.seed, duration=args.duration)
        print(figures.line(), flush=True)
        print(f"{'':<12} kinds: {dict(sorted(figures.kinds.items()))}", flush=True)
        for failure in figures.failures:
            print(f"  FAILED {failure}", flush=True)
        total_failed += figures.failed + figures.crashes
    print(f"total {time.monotonic() - started:.0f} s, failed+crashes={total_failed}")
    return 1 if total_failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
