"""bench/http_bench.py's contract floor stays what it claims to be: the assembled server's
`GET /` answer (header names and fixed values) and its access line (keys, in order), with
nothing of the work in between. If the contract gains a header, the floor must gain it too."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

from tests.support.harness.http_floor import SERVER_ENV
from tests.support.harness.process import ROOT, clean_env

#: Calls one ASGI app in-process with bench/http_app_cost.py's GET / (no socket: the headers
#: and the line are the app's own), prints the start message's headers as JSON on stdout;
#: the app's log goes to stderr.
PROGRAM = """
import asyncio, json, sys
sys.path.insert(0, "bench")
from tests.support.harness.http_floor import SCOPE, receive

async def main(which):
    if which == "server":
        from asgi_app.factory import build_from_environment
        app = build_from_environment(env_file=None)
    else:
        from http_apps import contract_floor as app
    sent = []
    async def send(message):
        sent.append(message)
    await app(dict(SCOPE), receive, send)
    start, body = sent
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    text = body["body"].decode()
    print(json.dumps({"status": start["status"], "headers": headers, "body": text}))

asyncio.run(main(sys.argv[1]))
"""


def answer(which: str, state_dir: str) -> tuple[dict[str, object], list[dict[str, object]]]:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, which],
        cwd=ROOT,
        env=clean_env(**SERVER_ENV, STATE_DIR=state_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    access = [line for line in lines if line.get("logger") == "asgi_app.access"]
    return json.loads(done.stdout), access


def test_contract_floor_answers_and_logs_as_the_server() -> None:
    with tempfile.TemporaryDirectory() as state:
        server, server_lines = answer("server", state)
        floor, floor_lines = answer("floor", state)
    assert server["status"] == floor["status"] == 200
    assert server["body"] == floor["body"] == "App is running"
    server_headers, floor_headers = server["headers"], floor["headers"]
    assert isinstance(server_headers, dict) and isinstance(floor_headers, dict)
    assert sorted(server_headers) == sorted(floor_headers)
    for name, value in floor_headers.items():
        if name != "x-request-id":  # the server's is made per request
            assert server_headers[name] == value, name
    assert len(server_lines) == 1 and len(floor_lines) == 1
    assert list(server_lines[0]) == list(floor_lines[0])  # the same keys in the same order
    assert server_lines[0]["msg"] == floor_lines[0]["msg"] == "GET / 200"
