"""HTTPError and the problem+json (RFC 9457) body every error answer uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

PROBLEM_JSON = "application/problem+json"

_REASONS: dict[int, str] = {s.value: s.phrase for s in HTTPStatus}


def reason_phrase(status: int) -> str:
    """The standard reason phrase of `status` ("Not Found"), or "Unknown Status"."""
    return _REASONS.get(status, "Unknown Status")


class HTTPError(Exception):
    """Raise from a handler or middleware to answer with a problem+json error."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        errors: Sequence[Mapping[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        title: str | None = None,
        type: str = "about:blank",
    ) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"HTTPError status must be 4xx or 5xx, got {status}")
        self.status = status
        self.title = title or reason_phrase(status)
        self.detail = detail if detail is not None else self.title
        self.errors = list(errors) if errors is not None else None
        self.headers = dict(headers) if headers else {}
        self.type = type
        super().__init__(status, self.detail)

    def __repr__(self) -> str:
        return f"HTTPError({self.status}, {self.detail!r})"


class ClientDisconnect(Exception):
    """The client went away while its request body was being read."""


def problem_body(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    type: str = "about:blank",
    errors: Sequence[Mapping[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": type,
        "title": title or reason_phrase(status),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = list(errors)
    if extra:
        body.update(extra)
    return body
