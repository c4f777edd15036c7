"""Abuse campaign, long version: `.venv/bin/python bench/abuse.py --duration 60`.

The production server (gunicorn + gunicorn.conf.py, production timeouts and limits, a Discord
simulator behind it) is attacked by one hostile process at a time while a legitimate client
(its own source address) asks /health and an authenticated /overlay every 0.2 s over new
connections. Each row: legitimate requests answered / failed, their p50 and p99, p99 against
the same client without attack in the same run (the baseline row), and the worker's RSS and
open descriptors at the start, peak and after. Attacks:

- slowloris headers: 1,000 connections trickling header lines for `duration` s, each
  reopened as soon as the server closes it;
- slow bodies: 500 connections sending a body one byte a second for `duration` s, reopened
  likewise;
- huge header: one header growing to 256 MiB;
- 1,000 connections: opened at once, one request each, held `duration` s;
- Socket.IO without credentials: 10,000 handshakes + CONNECT to /overlay, all refused;
  then `--settle` s of quiet to see whether the abandoned Engine.IO sessions are released;
- spoofed X-Forwarded-For: 5,000 protected requests from an untrusted peer, each claiming a
  new address, then 5,000 through the trusted proxy with claims before the proxy's entry;
- bad bodies: protected JSON routes given charsets that are not text encodings (rot13, zlib,
  base64, hex, punycode...) and JSON nested past 64 levels, 10 rounds: each must get its 415
  or 400 problem+json;
- huge main-app answers: the main app (FORWARD_URL) answers every forward with far more than
  1 MiB (a 1 GiB Content-Length, endless chunked, endless until close, 1 MiB + 1) while
  interactions arrive: each forward is cut short and the user told.

Every response body and header, and the server's whole log, is searched for AUTH_TOKEN and
the bot token; the answers of 500 and the tracebacks in the log are counted (both must be 0).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.simulator import DiscordSimulator  # noqa: E402
from tests.support.campaigns.abuse.campaign import (  # noqa: E402
    PROXY_SOURCE,
    Phase,
    interactions_told,
    report,
    run_phase,
)
from tests.support.campaigns.abuse.server import GunicornServer  # noqa: E402
from tests.support.harness.app import AUTH_TOKEN, production_env  # noqa: E402
from tests.support.harness.server import free_port  # noqa: E402

RATE_LIMIT = 600


def attacks(duration: float, main_port: int) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (
            "slowloris headers",
            "slowloris_headers",
            {"count": 1000, "hold": duration, "interval": 1.0, "reconnect": True},
        ),
        (
            "slow bodies",
            "slow_body",
            {
                "count": 500,
                "hold": duration,
                "interval": 1.0,
                "path": "/overlay",
                "reconnect": True,
            },
        ),
        ("huge header", "huge_headers", {"limit": 256 << 20, "hold": duration}),
        ("1000 connections", "connections", {"count": 1000, "hold": duration}),
        ("10000 Socket.IO unauth", "sio_unauth", {"count": 10_000, "concurrency": 20}),
        (
            "XFF spoof untrusted",
            "spoof",
            {"count": 5000, "concurrency": 4, "path": "/overlay", "chain_suffix": None},
        ),
        (
            "XFF spoof via proxy",
            "spoof",
            {
                "count": 5000,
                "concurrency": 4,
                "path": "/overlay",
                "chain_suffix": "198.51.100.7",
                "source": PROXY_SOURCE,
            },
        ),
        (
            "bad bodies",
            "bad_bodies",
            {"token": AUTH_TOKEN, "rounds": 10, "source": "127.0.0.6"},
        ),
        (
            "huge main-app answers",
            "huge_answers",
            {"listen_port": main_port, "hold": min(duration, 30.0)},
        ),
    ]


async def main(duration: float, settle: float) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="abuse-bench-"))
    main_port = free_port()
    async with DiscordSimulator(heartbeat_interval_ms=41250) as sim:
        env = production_env(
            sim,
            workdir,
            FORWARD_URL=f"http://127.0.0.1:{main_port}/api/discord/interactions",
            LOG_FORMAT="json",
            RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT),
        )
        server = await GunicornServer(env, port=free_port(), workdir=workdir).start()
        secrets = [AUTH_TOKEN, sim.token]
        phases: list[Phase] = []
        try:
            phases.append(
                await run_phase(
                    server, "baseline", secrets=secrets, probe_seconds=duration, probe_interval=0.2
                )
            )
            for name, kind, options in attacks(duration, main_port):
                alongside = None
                if kind == "huge_answers":  # two interactions a second while it answers
                    count = max(1, int(options["hold"] * 2))
                    alongside = functools.partial(
                        interactions_told, sim, main_port, count=count, spacing=0.5
                    )

                phase = await run_phase(
                    server,
                    name,
                    secrets=secrets,
                    attack=(kind, options),
                    probe_seconds=2,
                    probe_interval=0.2,
                    settle_seconds=1,
                    alongside=alongside,
                )
                print(name, json.dumps(phase.attack), json.dumps(phase.alongside), flush=True)
                phases.append(phase)
                if kind == "sio_unauth" and settle > 0:
                    quiet = await run_phase(
                        server,
                        f"quiet {settle:.0f} s after",
                        secrets=secrets,
                        probe_seconds=settle,
                        probe_interval=1.0,
                    )
                    phases.append(quiet)
        finally:
            output = await server.stop()
        print()
        print(report(phases))
        leaks = [s for s in secrets if s in output]
        hits = sum(p.secret_hits for p in phases)
        failed = sum(len(p.failures) for p in phases)
        answers_500 = sum(int(p.attack.get("status_500", 0)) for p in phases) + sum(
            p.failures.count("status 500") for p in phases
        )
        tracebacks = output.count("Traceback")
        print(
            f"\nlegit failures {failed}; secrets in responses {hits}; secrets in the server "
            f"log {len(leaks)} ({len(output.splitlines())} lines); answers of 500 "
            f"{answers_500}; tracebacks in the log {tracebacks}"
        )
        return 1 if hits or leaks or answers_500 or tracebacks else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per held attack")
    parser.add_argument(
        "--settle",
        type=float,
        default=90.0,
        help="quiet seconds after the Socket.IO flood (ping interval + timeout is 85 s)",
    )
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.duration, args.settle)))
