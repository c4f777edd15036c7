"""What bench/http_bench.py and bench/http_app_cost.py measure the server with, shared with
tests/ops/test_bench_floor.py (which checks that the benches' contract floor stays honest):
the server's environment for the runs and one in-process `GET /`."""

from __future__ import annotations

from typing import Any

TOKEN = "bench-auth-token-0123456789abcdef0123456789"

#: The real server, as production runs it but for a development gateway (the embedded
#: simulator: production needs a BOT_TOKEN) and a rate limit the load cannot reach.
SERVER_ENV = {
    "APP_ENV": "development",
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "json",
    "AUTH_TOKEN": TOKEN,
    "ORIGIN_URL": "http://127.0.0.1:9",
    "RATE_LIMIT_PER_MINUTE": "1000000000",
}

SCOPE = {
    "type": "http",
    "method": "GET",
    "path": "/",
    "raw_path": b"/",
    "query_string": b"",
    "headers": [(b"host", b"127.0.0.1:8000"), (b"user-agent", b"wrk"), (b"accept", b"*/*")],
    "client": ("127.0.0.1", 5555),
    "server": ("127.0.0.1", 8000),
    "scheme": "http",
    "http_version": "1.1",
    "root_path": "",
}


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}
