"""Helpers for the HTTP framework tests: a stand-in schema and a raw loopback HTTP client."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Issue:
    path: tuple[str | int, ...]
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        pointer = "".join(f"/{p}" for p in self.path)
        return {
            "path": list(self.path),
            "pointer": pointer,
            "code": self.code,
            "message": self.message,
        }


@dataclass
class StandInError:
    issues: list[Issue]

    def to_list(self) -> list[dict[str, Any]]:
        return [issue.as_dict() for issue in self.issues]


@dataclass
class StandInResult:
    ok: bool
    value: Any
    error: StandInError | None


class TeamSchema:
    """{"name": non-empty str, "score": int >= 0, "players": [str, ...]}, every issue listed."""

    def safe_parse(self, value: Any) -> StandInResult:
        if not isinstance(value, dict):
            return StandInResult(
                False, None, StandInError([Issue((), "invalid_type", "Expected object")])
            )
        issues: list[Issue] = []
        name = value.get("name")
        if not isinstance(name, str) or not name:
            issues.append(Issue(("name",), "too_small", "Expected a non-empty string"))
        score = value.get("score")
        if not isinstance(score, int) or isinstance(score, bool) or score < 0:
            issues.append(Issue(("score",), "too_small", "Expected an integer >= 0"))
        players = value.get("players", [])
        if not isinstance(players, list):
            issues.append(Issue(("players",), "invalid_type", "Expected array"))
        else:
            for i, player in enumerate(players):
                if not isinstance(player, str):
                    issues.append(Issue(("players", i), "invalid_type", "Expected string"))
        if issues:
            return StandInResult(False, None, StandInError(issues))
        return StandInResult(True, {"name": name, "score": score, "players": players}, None)


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes


async def read_response(reader: asyncio.StreamReader) -> RawResponse:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return RawResponse(status, headers, body)


async def open_raw(base: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(base)
    assert parts.hostname is not None and parts.port is not None
    return await asyncio.open_connection(parts.hostname, parts.port)
