"""A main app that answers far too much: every request gets a body over any sane limit, in one
of MODES (in turn, request after request), and what it managed to write before the client hung
up is recorded. Tests (tests/rest, tests/relay, tests/app) and the abuse campaign
(`tests.support.campaigns.abuse.attacks huge_answers`) use it.

- `declared`: `Content-Length: 1 GiB`, then the body streamed until the client hangs up;
- `chunked`: a chunked body that never ends;
- `until_close`: no length (the body ends with the connection), never ending;
- `just_over`: `Content-Length: 1 MiB + 1`, written at once.

A client that reads whole answers into memory keeps reading for as long as the server keeps
streaming (HOLD seconds here); one with a limit hangs up after about that much.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MODES = ("declared", "chunked", "until_close", "just_over")
MIB = 1 << 20
JUST_OVER = MIB + 1
DECLARED = 1 << 30
CHUNK = 64 * 1024
#: How long one streamed answer goes on when the client keeps reading.
HOLD = 20.0
_PIECE = b"x" * CHUNK


@dataclass
class Answered:
    mode: str
    path: str
    written: int  # body bytes written (or queued) before the client hung up or HOLD passed
    cut_by_client: bool  # the client hung up before the body ended
    seconds: float  # from the answer's first byte to the hang-up (or HOLD)


@dataclass
class HugeAnswers:
    """`async with HugeAnswers() as base:` serves on 127.0.0.1 (`port` 0: any free port)."""

    modes: tuple[str, ...] = MODES
    hold: float = HOLD
    port: int = 0
    on_request: Callable[[bytes], Any] | None = None  # sees every request, head and body
    answered: list[Answered] = field(default_factory=list)
    requests: int = 0
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    async def __aenter__(self) -> str:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}"

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    def summary(self) -> dict[str, Any]:
        by_mode: dict[str, int] = {}
        for answer in self.answered:
            by_mode[answer.mode] = by_mode.get(answer.mode, 0) + 1
        return {
            "requests": self.requests,
            "answers": len(self.answered),
            "by_mode": by_mode,
            "cut_by_client": sum(1 for a in self.answered if a.cut_by_client),
            "max_written": max((a.written for a in self.answered), default=0),
            "max_cut_s": round(max((a.seconds for a in self.answered), default=0.0), 2),
        }

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            pass  # the server is stopping (asyncio's stream callback must not see a cancel)
        finally:
            self._handlers.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return
        if self.on_request is not None:
            self.on_request(head + body)
        mode = self.modes[self.requests % len(self.modes)]
        self.requests += 1
        path = head.split(b" ", 2)[1].decode("latin-1")
        started = time.monotonic()
        written, cut = await self._answer(mode, reader, writer)
        self.answered.append(Answered(mode, path, written, cut, time.monotonic() - started))

    async def _answer(
        self, mode: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> tuple[int, bool]:
        hung_up = asyncio.ensure_future(reader.read())  # b"" once the client closes
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.hold
        written = 0
        try:
            if mode == "just_over":
                writer.write(_head(f"Content-Length: {JUST_OVER}"))
                writer.write(b"x" * JUST_OVER)
                written = JUST_OVER
                await asyncio.wait([hung_up], timeout=self.hold)
                return written, hung_up.done()
            framing = {
                "declared": f"Content-Length: {DECLARED}",
                "chunked": "Transfer-Encoding: chunked",
                "until_close": "Connection: close",
            }[mode]
            writer.write(_head(framing))
            while not hung_up.done() and (left := deadline - loop.time()) > 0:
                if mode == "chunked":
                    writer.writelines((b"%x\r\n" % CHUNK, _PIECE, b"\r\n"))
                else:
                    writer.write(_PIECE)
                written += CHUNK
                try:
                    await asyncio.wait_for(writer.drain(), left)
                except TimeoutError:
                    break
            return written, hung_up.done()
        except OSError:  # reset or broken pipe: the client hung up
            return written, True
        finally:
            if hung_up.done() and not hung_up.cancelled():
                hung_up.exception()  # a reset read is a hang-up too: retrieved, not logged
            hung_up.cancel()


def _head(framing: str) -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{framing}\r\n\r\n".encode()
