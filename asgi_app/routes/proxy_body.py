"""The body of a proxied call: streamed in, spooled, streamed out.

A body up to SPOOL_MEMORY bytes is held as bytes (almost every call: JSON). A larger one (an
upload, up to PROXY_BODY_LIMIT_BYTES) goes to an unnamed temporary file as it arrives and is
sent to Discord from there in CHUNK-sized pieces with the socket's flow control, so an upload
costs the server about SPOOL_MEMORY of memory however large it is, and a retry (after a 5xx
or a 429 waited out) reads it again from the start. Why not pass the client's stream straight
through: Discord's retryable answers would then lose the body.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from typing import IO

from asgi_app.http import Request
from gateway.rest.transport import Body

#: Bodies up to this size stay in memory.
SPOOL_MEMORY = 1024 * 1024
CHUNK = 64 * 1024


class SpooledBody:
    """A request body in a temporary file (a `gateway.rest.transport.BodySource`)."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile()  # unnamed; closed by close()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        # A blocking write, to the page cache: CHUNK-sized pieces cost microseconds each.
        self._file.write(chunk)
        self.size += len(chunk)

    async def chunks(self) -> AsyncIterator[bytes]:
        self._file.seek(0)
        while piece := self._file.read(CHUNK):
            yield piece

    def close(self) -> None:
        self._file.close()


async def read_body(req: Request) -> Body:
    """The request's body (Request.body_limit applies): bytes when small, else spooled."""
    held: list[bytes] = []
    size = 0
    spool: SpooledBody | None = None
    try:
        async for chunk in req.chunks():
            if spool is None:
                size += len(chunk)
                if size <= SPOOL_MEMORY:
                    held.append(chunk)
                    continue
                spool = SpooledBody()
                for earlier in held:
                    spool.write(earlier)
                held = []
            spool.write(chunk)
    except BaseException:
        if spool is not None:
            spool.close()
        raise
    return b"".join(held) if spool is None else spool
