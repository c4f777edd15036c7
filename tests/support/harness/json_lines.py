"""A child process driven over stdin/stdout, one JSON object per line, both sides of it.

The child (`python -m <module> ...`) prints one line first (its hello: where it serves),
then reads one command a line (`{"op": ..., ...}`) and answers each with one line, until
`{"op": "quit"}` or the end of stdin. tests/support/harness/sim_process.py and
tests/support/harness/events_sim.py are such children; `json_line_process` starts one and
hands over what `make` builds from it and its hello (sim_process.py's `SimProcess`).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import orjson

ROOT = Path(__file__).resolve().parents[3]

_Child = TypeVar("_Child")


class JsonLineChild:
    """The parent's side: `call` sends one command and reads its answer (one at a time)."""

    def __init__(self, proc: asyncio.subprocess.Process, hello: dict[str, Any]) -> None:
        self.proc = proc
        self.hello = hello
        self._lock = asyncio.Lock()

    async def call(self, op: str, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        async with self._lock:
            self.proc.stdin.write(orjson.dumps({"op": op, **args}) + b"\n")
            await self.proc.stdin.drain()
            answer: dict[str, Any] = orjson.loads(await self.proc.stdout.readline())
        return answer


@asynccontextmanager
async def json_line_process(
    make: Callable[[asyncio.subprocess.Process, dict[str, Any]], _Child],
    module: str,
    *args: str,
    limit: int,
) -> AsyncIterator[_Child]:
    """`python -m module *args` from the project's root, its hello read (within 30 s), then
    `make(proc, hello)`; at the end it is told to quit (killed after 20 s). `limit`: the
    longest answer line read."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=limit,
    )
    try:
        assert proc.stdout is not None
        hello = await asyncio.wait_for(proc.stdout.readline(), 30)
        if not hello:
            raise RuntimeError(f"{module} did not start")
        yield make(proc, orjson.loads(hello))
    finally:
        if proc.returncode is None and proc.stdin is not None:
            proc.stdin.write(b'{"op": "quit"}\n')
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def commands(limit: int) -> AsyncIterator[dict[str, Any]]:
    """The child's side: each command read from stdin (lines of at most `limit` bytes), until
    `{"op": "quit"}` or the end of stdin."""
    reader = asyncio.StreamReader(limit=limit)
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command: dict[str, Any] = orjson.loads(line)
        if command["op"] == "quit":
            return
        yield command


def reply(message: dict[str, Any]) -> None:
    """The child's side: one line on stdout (its hello, or a command's answer)."""
    sys.stdout.buffer.write(orjson.dumps(message) + b"\n")
    sys.stdout.buffer.flush()
