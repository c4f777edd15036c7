"""`python -m asgi_app.devtools fire command|component|modal|autocomplete [--mode M] [--url U]`:
fire an interaction through a development server and print what happened.

The server is `--url`, else the one `make run` starts: http://127.0.0.1:$PORT (8000 when PORT
is unset). When nothing answers there, one line says so (exit 1)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

import httpx

from asgi_app.devtools.standin import KINDS, MODES
from gateway.interactions.policy import Mode


def default_url(environ: Mapping[str, str] | None = None) -> str:
    """Where `make run` serves: 127.0.0.1 on PORT (its default, 8000, when unset)."""
    port = (os.environ if environ is None else environ).get("PORT", "").strip() or "8000"
    return f"http://127.0.0.1:{port}"


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
    fire.add_argument(
        "--url",
        default=None,
        help="the development server (default: http://127.0.0.1:$PORT, as `make run` serves)",
    )
    args = parser.parse_args(argv)
    url = args.url or default_url()
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            if args.mode or args.response:
                change = {"mode": args.mode, "response": args.response}
                wanted = {k: value for k, value in change.items() if value}
                _checked(client.post("/dev/main-app", json=wanted))
            result = _checked(client.post("/dev/fire", json={"kind": args.kind})).json()
    except httpx.TransportError as exc:
        print(
            f"no development server answers at {url} ({type(exc).__name__}): start one with"
            " `make run` (it serves on PORT, default 8000), or pass --url",
            file=sys.stderr,
        )
        return 1
    except _Refused as refused:
        print(str(refused), file=sys.stderr)
        return 1
    print(
        f"{result['kind']} {result['interaction_id']} (main app: {result['main_app_mode']},"
        f" response: {result.get('response_mode')})"
    )
    for step in result["steps"]:
        mode = f" [{step['response_mode']}]" if step.get("response_mode") else ""
        print(f"  {step['ms']:>8} ms  {step['step']}: {step['detail']}{mode}")
    print("finished" if result["finished"] else "NOT finished within the wait")
    return 0 if result["finished"] else 1


class _Refused(Exception):
    """The server answered, but not as a development server does."""


def _checked(response: httpx.Response) -> httpx.Response:
    if response.status_code == 404:
        raise _Refused(
            f"{response.request.url} answered 404: the server at {response.request.url.host}:"
            f"{response.request.url.port} is not in development mode (APP_ENV=development)"
        )
    if response.is_error:
        raise _Refused(f"{response.request.url} answered {response.status_code}")
    return response


if __name__ == "__main__":
    sys.exit(main())
