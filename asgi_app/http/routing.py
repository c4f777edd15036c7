"""Routes, typed path convertors and the router, compiled once when the app is built."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from asgi_app.http.types import Handler, Middleware

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class ParseResult(Protocol):
    """What `Schema.safe_parse` returns (asgi_app.validation)."""

    @property
    def ok(self) -> bool: ...
    @property
    def value(self) -> Any: ...
    @property
    def error(self) -> Any: ...


class BodySchema(Protocol):
    """Anything with `safe_parse(value)`; `result.error.to_list()` lists every issue."""

    def safe_parse(self, value: Any) -> Any: ...


@dataclass(frozen=True)
class Convertor:
    """What a `{name:kind}` segment matches, how its text becomes a value, and the same
    rule as JSON Schema (for API documents)."""

    regex: str
    convert: Callable[[str], Any]
    schema: Mapping[str, Any]


CONVERTORS: dict[str, Convertor] = {
    "str": Convertor(r"[^/]+", str, {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}),
    "int": Convertor(r"[0-9]+", int, {"type": "integer", "minimum": 0}),
    "path": Convertor(r".*", str, {"type": "string"}),
}

#: The path-parameter grammar: `{name}` or `{name:kind}`, kind one of CONVERTORS.
PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_]+))?}")


def path_parameters(path: str) -> tuple[str, list[tuple[str, Convertor]]]:
    """`/items/{id:int}` -> (`/items/{id}`, [("id", the int convertor)])."""
    params: list[tuple[str, Convertor]] = []

    def plain(match: re.Match[str]) -> str:
        name, kind = match.group(1), match.group(2) or "str"
        if kind not in CONVERTORS:
            raise ValueError(f"unknown convertor {kind!r} in {path!r}")
        params.append((name, CONVERTORS[kind]))
        return "{" + name + "}"

    return PARAM.sub(plain, path), params


def compile_path(path: str) -> tuple[re.Pattern[str] | None, dict[str, Callable[[str], Any]]]:
    """`/items/{id:int}` -> (regex, {"id": int}); a static path gives (None, {})."""
    if not path.startswith("/"):
        raise ValueError(f"route path must start with '/': {path!r}")
    pattern = "^"
    convert: dict[str, Callable[[str], Any]] = {}
    pos = 0
    for match in PARAM.finditer(path):
        name, kind = match.group(1), match.group(2) or "str"
        if kind not in CONVERTORS:
            raise ValueError(f"unknown convertor {kind!r} in {path!r}")
        if name in convert:
            raise ValueError(f"duplicate parameter {name!r} in {path!r}")
        pattern += re.escape(path[pos : match.start()])
        pattern += f"(?P<{name}>{CONVERTORS[kind].regex})"
        convert[name] = CONVERTORS[kind].convert
        pos = match.end()
    if "{" in path[pos:] or "}" in path[pos:]:
        raise ValueError(f"malformed parameter in {path!r}")
    if not convert:
        return None, {}
    pattern += re.escape(path[pos:]) + "$"
    return re.compile(pattern), convert


@dataclass
class Route:
    """One registered route (what `app.routes` lists, e.g. for an OpenAPI page)."""

    path: str
    methods: tuple[str, ...]
    handler: Handler
    middleware: tuple[Middleware, ...] = ()
    body: BodySchema | None = None
    summary: str = ""
    tags: tuple[str, ...] = ()
    #: Free-form facts about the route for tools (an API document's security, say); the
    #: framework itself never reads it.
    meta: Mapping[str, Any] = field(default_factory=dict)
    endpoint: Handler | None = field(default=None, repr=False, compare=False)


@dataclass
class _PathEntry:
    path: str
    regex: re.Pattern[str] | None
    convert: dict[str, Callable[[str], Any]]
    by_method: dict[str, Route] = field(default_factory=dict)
    allow: str = ""


class Match:
    """A routing outcome: a route with params, or the `allow` list (405/OPTIONS), or 404."""

    __slots__ = ("allow", "params", "route")

    def __init__(self, route: Route | None, params: dict[str, Any], allow: str | None) -> None:
        self.route = route
        self.params = params
        self.allow = allow


_NOT_FOUND = Match(None, {}, None)


class Router:
    """Static paths in a dict, parameterised paths tried in registration order."""

    def __init__(self, routes: Sequence[Route]) -> None:
        entries: dict[str, _PathEntry] = {}
        for route in routes:
            entry = entries.get(route.path)
            if entry is None:
                regex, convert = compile_path(route.path)
                entry = entries[route.path] = _PathEntry(route.path, regex, convert)
            for method in route.methods:
                if method in entry.by_method:
                    raise ValueError(f"{method} {route.path} is registered twice")
                entry.by_method[method] = route
        for entry in entries.values():
            if "GET" in entry.by_method and "HEAD" not in entry.by_method:
                entry.by_method["HEAD"] = entry.by_method["GET"]
            entry.allow = ", ".join(sorted({*entry.by_method, "OPTIONS"}))
        self._static = {p: e for p, e in entries.items() if e.regex is None}
        self._dynamic = [e for e in entries.values() if e.regex is not None]

    def match(self, method: str, path: str) -> Match:
        entry = self._static.get(path)
        params: dict[str, Any] = {}
        if entry is None:
            for candidate in self._dynamic:
                assert candidate.regex is not None
                found = candidate.regex.match(path)
                if found is not None:
                    try:
                        params = {k: candidate.convert[k](v) for k, v in found.groupdict().items()}
                    except ValueError:
                        continue
                    entry = candidate
                    break
            else:
                return _NOT_FOUND
        route = entry.by_method.get(method)
        if route is None:
            return Match(None, params, entry.allow)
        return Match(route, params, None)
