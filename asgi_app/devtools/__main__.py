"""`python -m asgi_app.devtools fire command|component|modal|autocomplete [--mode M] [--url U]`:
fire an interaction through a development server and print what happened."""

from __future__ import annotations

import argparse
import sys

import httpx

from asgi_app.devtools.standin import KINDS, MODES
from gateway.interactions.policy import Mode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m asgi_app.devtools")
    sub = parser.add_subparsers(dest="command", required=True)
    fire = sub.add_parser("fire", help="fire an interaction through the simulator")
    fire.add_argument("kind", choices=KINDS)
    fire.add_argument("--mode", choices=MODES, help="set the stand-in main app's mode first")
    fire.add_argument(
        "--response",
        choices=[m.value for m in Mode],
        help="set the relay's response mode first (defer, defer-ephemeral, respond)",
    )
    fire.add_argument("--url", default="http://127.0.0.1:8000", help="the development server")
    args = parser.parse_args(argv)
    with httpx.Client(base_url=args.url, timeout=60) as client:
        if args.mode or args.response:
            change = {"mode": args.mode, "response": args.response}
            wanted = {k: value for k, value in change.items() if value}
            client.post("/dev/main-app", json=wanted).raise_for_status()
        response = client.post("/dev/fire", json={"kind": args.kind})
        response.raise_for_status()
        result = response.json()
    print(
        f"{result['kind']} {result['interaction_id']} (main app: {result['main_app_mode']},"
        f" response: {result.get('response_mode')})"
    )
    for step in result["steps"]:
        mode = f" [{step['response_mode']}]" if step.get("response_mode") else ""
        print(f"  {step['ms']:>8} ms  {step['step']}: {step['detail']}{mode}")
    print("finished" if result["finished"] else "NOT finished within the wait")
    return 0 if result["finished"] else 1


if __name__ == "__main__":
    sys.exit(main())
