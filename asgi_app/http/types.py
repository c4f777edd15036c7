"""Type aliases shared by the framework: ASGI callables and the handler/middleware shapes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asgi_app.http.request import Request
    from asgi_app.http.response import Response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

Next = Callable[[], Awaitable[None]]
Handler = Callable[["Request", "Response"], Awaitable[None]]
Middleware = Callable[["Request", "Response", Next], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]
