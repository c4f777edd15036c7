"""The long chaos soak (issue 7 item 1): `.venv/bin/python bench/chaos.py --duration 1800`.

The same harness as tests/chaos/test_soak.py (tests/support/campaigns/chaos/soak.py), for as
long as asked: the simulator injects a random fault every 1-5 s while interactions arrive at 10/s,
numbered dispatches at 5/s and overlay updates at 5/s go to 50 Socket.IO clients, and the main
app fails 10% of the time. Prints the figures as a Markdown table (docs/RELIABILITY.md
"## Chaos soak") and exits 1 when an audit found a violation. Logs (WARNING and up) go to --log.

The peer of this run is its own start: memory and task count at the start against the end.

`--kill` runs the soak with SIGKILL restarts instead (issue 16,
tests/support/campaigns/chaos/kill_soak.py): a real server process on one STATE_DIR killed every
20-60 s (seeded) and started again, the simulator in its own process dropping the connection or
sending op 7 / op 9 every 2-6 s while
interactions arrive at --interaction-rate (5/s by default there):
`.venv/bin/python bench/chaos.py --kill --duration 1800` (docs/RELIABILITY.md "SIGKILL soak").

`--kill --nodes 3` kills and restarts nodes of three sharing 8 shards (SHARD_IDS=auto, issue
24, tests/support/campaigns/chaos/node_kill.py) every 20-60 s with interactions at 10/s:
`.venv/bin/python bench/chaos.py --kill --nodes 3 --duration 600` (docs/RELIABILITY.md
"Several nodes"; `--lease-seconds` shortens the lease).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.campaigns.chaos.kill_soak import KillSoakConfig, run_kill_soak
from tests.support.campaigns.chaos.node_kill import NodeKillConfig, run_node_kill
from tests.support.campaigns.chaos.soak import SoakConfig, run_soak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=1800.0, help="seconds of chaos")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--interaction-rate", type=float, default=None, help="10/s (--kill: 5/s)")
    parser.add_argument("--kill", action="store_true", help="SIGKILL restarts every 20-60 s")
    parser.add_argument("--nodes", type=int, default=0, help="--kill over this many nodes")
    parser.add_argument("--lease-seconds", type=float, default=15.0, help="with --nodes")
    parser.add_argument("--overlay-rate", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=50, help="Socket.IO clients (5 overlays)")
    parser.add_argument("--failure-rate", type=float, default=0.10)
    parser.add_argument(
        "--real-timeouts",
        action="store_true",
        help="keep the protocol's HELLO (60 s) and READY (15 s) timeouts",
    )
    parser.add_argument("--no-tracemalloc", action="store_true")
    parser.add_argument("--log", default="chaos.log", help="log file (WARNING and up)")
    parser.add_argument("--out", help="also write the Markdown figures to this file")
    args = parser.parse_args()

    logging.basicConfig(
        filename=args.log,
        level=logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if args.kill and args.nodes:
        return _nodes(args)
    if args.kill:
        return _kill(args)
    config = SoakConfig(
        duration=args.duration,
        seed=args.seed,
        interaction_rate=args.interaction_rate or 10.0,
        overlay_rate=args.overlay_rate,
        overlays=5,
        clients_per_overlay=max(1, args.clients // 5),
        failure_rate=args.failure_rate,
        hello_timeout=None if args.real_timeouts else 3.0,
        ready_timeout=None if args.real_timeouts else 3.0,
        trace_memory=not args.no_tracemalloc,
    )
    with tempfile.TemporaryDirectory(prefix="chaos-") as state_dir:
        report = asyncio.run(run_soak(config, Path(state_dir)))
    return _print(report.to_markdown(), report.violations(), args.out)


def _kill(args: argparse.Namespace) -> int:
    config = KillSoakConfig(
        duration=args.duration, seed=args.seed, interaction_rate=args.interaction_rate or 5.0
    )
    with tempfile.TemporaryDirectory(prefix="chaos-kill-") as state_dir:
        report = asyncio.run(run_kill_soak(config, Path(state_dir)))
    with Path(args.log).open("a") as log:
        log.write(report.output)  # the servers' output, every process
    return _print(report.to_markdown(), report.violations(), args.out)


def _nodes(args: argparse.Namespace) -> int:
    config = NodeKillConfig(
        duration=args.duration,
        seed=args.seed,
        nodes=args.nodes,
        interaction_rate=args.interaction_rate or 10.0,
        lease_seconds=args.lease_seconds,
    )
    with tempfile.TemporaryDirectory(prefix="chaos-nodes-") as state_dir:
        report = asyncio.run(run_node_kill(config, Path(state_dir)))
    return _print(report.to_markdown(), report.violations(), args.out)


def _print(text: str, violations: list[str], out: str | None) -> int:
    text += "\n\nViolations: " + ("none" if not violations else "; ".join(violations)) + "\n"
    print(text)
    if out:
        Path(out).write_text(text)
    return 1 if violations else 0


if __name__ == "__main__":
    raise SystemExit(main())
