"""CPU time of one `GET /` through the real app, in-process, with and without the access log.

The app is built from the same environment as bench/http_bench.py's `server` (JSON access log
at INFO, written to a file) and called directly with an in-memory receive and a no-op send, so
neither uvicorn nor the socket is in the figure; a bare ASGI callable is the reference. Best
of 5 x 20,000 calls, process CPU time (not wall time: the machine is shared).

    .venv/bin/python bench/http_app_cost.py
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere

from tests.support.harness.http_floor import SCOPE, SERVER_ENV, receive


async def send(message: dict[str, Any]) -> None:
    pass


async def bare(scope: Any, receive: Any, send: Any) -> None:
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"App is running"})


async def cost(target: Any, calls: int = 20_000) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for _ in range(calls):
            await target(dict(SCOPE), receive, send)
        best = min(best, (time.process_time() - start) / calls)
    return best * 1e6


async def main() -> None:
    import logging

    from asgi_app.factory import build_from_environment

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(SERVER_ENV, STATE_DIR=tmp)
        out = sys.stdout
        with open(Path(tmp) / "access.log", "w") as log:
            sys.stderr = log  # where configure_logging's handler writes
            app = build_from_environment(env_file=None)
            app.build()
            floor = await cost(bare)
            with_log = await cost(app)
            logging.getLogger("asgi_app.access").disabled = True
            without = await cost(app)
            sys.stderr = sys.__stderr__
        print(
            f"bare ASGI {floor:.2f} us, app with the access log {with_log:.2f} us,"
            f" without {without:.2f} us (CPU per GET /)",
            file=out,
        )


if __name__ == "__main__":
    asyncio.run(main())
