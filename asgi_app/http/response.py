"""The response handlers fill in; the app sends it after the middleware chain returns."""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping, Sequence
from typing import Any

import orjson

from asgi_app.http.errors import PROBLEM_JSON, problem_body, reason_phrase
from asgi_app.http.types import Send

_NO_BODY_STATUSES = frozenset({204, 304})
_JSON = "application/json"
_TEXT = "text/plain; charset=utf-8"
_HTML = "text/html; charset=utf-8"


#: Encoded header names and values seen so far (the same few dozen on every answer: names,
#: security and CORS values, content types); bounded, so varying values stop being added.
_ENCODED: dict[str, bytes] = {}
_ENCODED_MAX = 512


def _encode(text: str) -> bytes:
    encoded = _ENCODED.get(text)
    if encoded is None:
        encoded = text.encode("latin-1")
        if len(_ENCODED) < _ENCODED_MAX:
            _ENCODED[text] = encoded
    return encoded


def _check_header(name: str, value: str) -> None:
    if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
        raise ValueError("header names and values must not contain CR, LF (or ':' in names)")


class Response:
    """Express-like, chainable: `res.status(201).header("X-A", "1").json({...})`.

    `headers` is a plain dict keyed by lower-case names; `append_header` joins with ", ".
    A streamed answer (a mounted app's) has `stream` set instead of `body`, and may carry
    `raw_headers` that cannot be joined (Set-Cookie)."""

    __slots__ = ("body", "headers", "raw_headers", "status_code", "stream")

    def __init__(self) -> None:
        self.status_code = 200
        self.headers: dict[str, str] = {}
        self.body = b""
        self.stream: AsyncIterable[bytes] | None = None
        self.raw_headers: list[tuple[bytes, bytes]] = []

    def status(self, code: int) -> Response:
        if not 100 <= code <= 599:
            raise ValueError(f"invalid status {code}")
        self.status_code = code
        return self

    def header(self, name: str, value: str) -> Response:
        _check_header(name, value)
        self.headers[name.lower()] = value
        return self

    def append_header(self, name: str, value: str) -> Response:
        """Add a value to a list header (Vary, Allow...) without duplicating it."""
        _check_header(name, value)
        key = name.lower()
        current = self.headers.get(key)
        if not current:
            self.headers[key] = value
        elif value.lower() not in (v.strip().lower() for v in current.split(",")):
            self.headers[key] = current + ", " + value
        return self

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    def send(self, body: bytes, content_type: str | None = None) -> Response:
        self.body = body
        if content_type is not None:
            self.headers["content-type"] = content_type
        return self

    def json(self, value: Any) -> Response:
        self.body = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
        self.headers["content-type"] = _JSON
        return self

    def text(self, value: str) -> Response:
        self.body = value.encode("utf-8")
        self.headers["content-type"] = _TEXT
        return self

    def html(self, value: str) -> Response:
        self.body = value.encode("utf-8")
        self.headers["content-type"] = _HTML
        return self

    def send_status(self, code: int) -> Response:
        """Status with its reason phrase as the text body (no body for 204/304)."""
        self.status(code)
        if code in _NO_BODY_STATUSES:
            self.body = b""
            self.headers.pop("content-type", None)
            return self
        return self.text(reason_phrase(code))

    def problem(
        self,
        status: int,
        detail: str | None = None,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        title: str | None = None,
        type: str = "about:blank",
        extra: Mapping[str, Any] | None = None,
    ) -> Response:
        """An application/problem+json error body (RFC 9457)."""
        self.status(status)
        body = problem_body(
            status,
            detail if detail is not None else (title or reason_phrase(status)),
            title=title,
            type=type,
            errors=errors,
            extra=extra,
        )
        self.body = orjson.dumps(body)
        self.headers["content-type"] = PROBLEM_JSON
        return self

    async def send_to(self, send: Send, *, request_id: str, head: bool = False) -> None:
        """Write this response to an ASGI `send` (HEAD: headers only, same Content-Length)."""
        status = self.status_code
        if self.stream is not None:
            await self._stream_to(send, request_id, head)
            return
        body = self.body
        raw: list[tuple[bytes, bytes]] = [(b"x-request-id", request_id.encode("latin-1"))]
        if status in _NO_BODY_STATUSES or status < 200:
            body = b""
        else:
            raw.append((b"content-length", str(len(body)).encode("latin-1")))
        encode = _encode
        for name, value in self.headers.items():
            if name != "content-length" and name != "x-request-id":
                raw.append((encode(name), encode(value)))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": b"" if head else body})

    async def _stream_to(self, send: Send, request_id: str, head: bool) -> None:
        assert self.stream is not None
        raw = [(b"x-request-id", request_id.encode("latin-1"))]
        for name, value in self.headers.items():
            if name != "x-request-id":
                raw.append((name.encode("latin-1"), value.encode("latin-1")))
        raw.extend(self.raw_headers)
        await send({"type": "http.response.start", "status": self.status_code, "headers": raw})
        async for chunk in self.stream:
            if chunk and not head:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    def __repr__(self) -> str:
        return f"<Response {self.status_code} {len(self.body)} bytes>"
