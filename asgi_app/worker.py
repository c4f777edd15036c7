"""The gunicorn worker: uvicorn's, with the lifespan protocol required rather than guessed, and
an HTTP protocol that bounds what a client can hold (see GuardedHttpToolsProtocol).

The lifespan hook starts the gateway and saves its session on shutdown; with "auto" a startup
failure would be swallowed and the server would run without a gateway.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from typing import Any

import uvicorn
from gunicorn.arbiter import Arbiter
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn_worker import UvicornWorker

from asgi_app.settings import load_server_settings_or_exit

log = logging.getLogger("asgi_app.worker")

_server = load_server_settings_or_exit(os.environ)

#: A request line and headers must arrive within this many seconds of the connection opening
#: (or of the previous response on a keep-alive connection), else 408 and close. uvicorn has
#: no such timer: a client that trickles header lines (slowloris), or sends nothing at all,
#: held its connection, its descriptor and its buffers forever.
HEAD_TIMEOUT = _server.request_head_timeout_seconds  # REQUEST_HEAD_TIMEOUT_SECONDS
#: A request body must be complete within this many seconds of its headers, else the
#: connection is closed. Bodies are at most BODY_LIMIT_BYTES (100 KiB by default): 30 s is
#: ample for a real client and ends a body sent one byte at a time.
BODY_TIMEOUT = _server.request_body_timeout_seconds  # REQUEST_BODY_TIMEOUT_SECONDS
#: Request line plus headers, in bytes, else 431 and close. httptools has no limit of its own:
#: a 64 MiB header was accepted whole, the worker's RSS grew by its size and every other
#: request waited seconds while it was joined. (h11, uvicorn's other parser, stops at 16 KiB;
#: browsers send a few KiB, cookies included.)
MAX_HEAD_BYTES = 64 * 1024


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol plus a head timeout, a body timeout and a head size limit.

    One timer per connection: armed for the head when the connection opens and after each
    response, re-armed for the body when the headers are complete, disarmed when the request
    is complete or the connection becomes a WebSocket. The time the app takes to answer is
    never limited (Engine.IO long-polls for 25 s).
    """

    head_timeout = HEAD_TIMEOUT
    body_timeout = BODY_TIMEOUT
    max_head_bytes = MAX_HEAD_BYTES

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        self._reading_head = True
        self._reading_body = False
        self._head_bytes = 0
        self._heads = 0  # request heads completed on this connection
        super().connection_made(transport)
        self._arm(self.head_timeout, self._head_expired)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        counting = self._reading_head
        heads = self._heads
        super().data_received(data)
        # Only a chunk that did not complete the head is all head bytes; the one that does may
        # carry body bytes too and is not counted (nor one that held a whole request, head
        # and body: the head is being read again then, for the next request). The parser
        # holds at most the limit plus one read.
        if (
            counting
            and self._reading_head
            and self._heads == heads
            and not self.transport.is_closing()
        ):
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._refuse(431, "Request header fields too large.")

    def on_headers_complete(self) -> None:
        self._heads += 1
        self._reading_head = False
        self._reading_body = True
        self._head_bytes = 0
        super().on_headers_complete()
        self._arm(self.body_timeout, self._body_expired)

    def on_message_complete(self) -> None:
        self._disarm()
        self._reading_head = True
        self._reading_body = False
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Waiting for the next request (the keep-alive timer ends an idle connection sooner);
        # a pipelined request already started has its head complete. An answer given before
        # the body was all read (401 on a slow body) leaves the body timer running.
        if self.transport.is_closing() or self._reading_body:
            return
        if self.cycle is None or self.cycle.response_complete:
            self._arm(self.head_timeout, self._head_expired)

    def handle_websocket_upgrade(self) -> None:
        self._disarm()
        self._reading_head = self._reading_body = False
        super().handle_websocket_upgrade()

    # -- timers --------------------------------------------------------------------------
    def _arm(self, seconds: float, callback: Any) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _head_expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self._refuse(408, "Request head not received in time.")

    def _body_expired(self) -> None:
        # The app may be reading the body or may have answered already: no response of our
        # own, the app sees http.disconnect.
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()

    def _refuse(self, status: int, message: str) -> None:
        self._disarm()
        if self.cycle is not None and not self.cycle.response_complete:
            # A response is under way on this connection: no second one in the middle of it.
            self.transport.close()
            return
        body = message.encode("ascii")
        content = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: text/plain; charset=utf-8\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"connection: close\r\n\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()


#: How long the app's `before_shutdown()` may take before uvicorn closes the connections.
BEFORE_SHUTDOWN_SECONDS = 5.0


class DrainingServer(uvicorn.Server):
    """uvicorn's server, with the app told before the connections are cut.

    uvicorn's shutdown closes every WebSocket (code 1012) before the lifespan shutdown runs, so
    Socket.IO clients saw a broken transport instead of a Socket.IO disconnect. Here the
    listeners close first, then the app's `before_shutdown()` (when it has one) runs, and only
    then uvicorn's own shutdown.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # stop accepting (uvicorn closes them again: harmless)
        hook = getattr(self.config.app, "before_shutdown", None)
        if hook is not None:
            try:
                await asyncio.wait_for(hook(), BEFORE_SHUTDOWN_SECONDS)
                # The clients answer the WebSocket close handshake: let them, or uvicorn would
                # cut those connections (a reset) while their close frames are on the way.
                await asyncio.wait_for(self._websockets_closed(), BEFORE_SHUTDOWN_SECONDS)
            except TimeoutError:
                log.warning(
                    "before_shutdown: WebSockets still open after %s s", BEFORE_SHUTDOWN_SECONDS
                )
            except Exception:
                log.exception("before_shutdown failed")
        await super().shutdown(sockets)

    async def _websockets_closed(self) -> None:
        # uvicorn's connection set signals nothing when it changes: polled, as uvicorn does.
        while any(  # noqa: ASYNC110
            not isinstance(connection, HttpToolsProtocol | H11Protocol)
            for connection in self.server_state.connections
        ):
            await asyncio.sleep(0.02)


class LifespanWorker(UvicornWorker):  # type: ignore[misc]
    CONFIG_KWARGS: dict[str, Any] = {
        "loop": "auto",
        "http": GuardedHttpToolsProtocol,
        "lifespan": "on",
    }

    async def _serve(self) -> None:
        # uvicorn_worker's own, with DrainingServer
        self.config.app = self.wsgi
        server = DrainingServer(config=self.config)
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started:
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
