"""PROXY_ALLOW: the Discord routes the REST proxy passes, as `"METHOD /path"` patterns.

A pattern's path is below `/api/v10` and is matched segment by segment on the decoded path:
`*` or a `{word}` is any one segment, `**` (last only) is one or more segments, anything else
must be equal. The method is GET, POST, PUT, PATCH, DELETE or `*` (any); HEAD is checked as
GET, since the proxy sends it as GET. The query never matters.

    ["GET /guilds/{guild_id}/members/*", "POST /channels/*/messages", "PATCH /webhooks/**"]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from asgi_app import validation as v

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_WORD = re.compile(r"^\{[A-Za-z_][A-Za-z0-9_]*\}$")
_FORM = 'must be "METHOD /path" (METHOD one of GET, POST, PUT, PATCH, DELETE or *)'


@dataclass(frozen=True)
class RoutePattern:
    text: str
    method: str
    segments: tuple[str, ...]

    def matches(self, method: str, segments: list[str]) -> bool:
        if self.method != "*" and self.method != method:
            return False
        pattern = self.segments
        if pattern and pattern[-1] == "**":
            head = pattern[:-1]
            return len(segments) > len(head) and _same(head, segments[: len(head)])
        return len(segments) == len(pattern) and _same(pattern, segments)


def _same(pattern: tuple[str, ...], segments: list[str]) -> bool:
    return all(p == "*" or _WORD.match(p) or p == s for p, s in zip(pattern, segments, strict=True))


@dataclass(frozen=True)
class ProxyAllow:
    """The allowed routes; `allows(method, path)` with `path` the decoded path below /api/v10."""

    patterns: tuple[RoutePattern, ...]

    def allows(self, method: str, path: str) -> bool:
        method = "GET" if method == "HEAD" else method
        segments = path.split("?", 1)[0].split("/")[1:]
        return any(pattern.matches(method, segments) for pattern in self.patterns)


def _problem(text: str) -> str | None:
    method, _, path = text.strip().partition(" ")
    if method not in (*METHODS, "*") or not path.startswith("/"):
        return _FORM
    segments = path.strip().split("/")[1:]
    if "**" in segments[:-1]:
        return "** may only be the last segment"
    if any(not s for s in segments):
        return "must not have an empty path segment"
    return None


def _parse(text: str) -> RoutePattern:
    method, _, path = text.strip().partition(" ")
    return RoutePattern(text.strip(), method, tuple(path.strip().split("/")[1:]))


def _check_pattern(text: str, report: v.Reporter) -> None:
    problem = _problem(text)
    if problem is not None:
        report.add(problem)


_LIST = v.array(v.string().super_refine(_check_pattern))


def _check(text: str, report: v.Reporter) -> None:
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        report.add('must be a JSON list of "METHOD /path" patterns', code="invalid_json")
        return
    result = _LIST.safe_parse(document)
    if result.error is not None:
        for issue in result.error.issues:
            report.add(issue.message, path=issue.path, code=issue.code)


#: PROXY_ALLOW: a JSON list; each problem reported at its index.
proxy_allow: v.Schema[ProxyAllow] = (
    v.string()
    .super_refine(_check)
    .transform(lambda text: ProxyAllow(tuple(_parse(item) for item in orjson.loads(text))))
)
