"""Hypothesis strategies for hostile HTTP requests: bodies, headers and paths.

Every request carries unique markers (`mk` + 16 hex digits) in the parts the fuzzer controls:
`body` in body values, `header` in header values, `path` in path segments and the query.
No answer may show a body or header marker; a path marker may only come back in a 2xx (a
resource named by the path, e.g. POST /overlay/{name} answers with its name).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import orjson
from hypothesis import strategies as st

#: Routes of the server (CONTRACT.md) as path templates; `{}` is a fuzzed segment.
KNOWN_PATHS = (
    "/",
    "/livez",
    "/health",
    "/health/detailed",
    "/analytics",
    "/analytics/internal",
    "/metrics",
    "/openapi.json",
    "/discord",
    "/discord/presence",
    "/overlay",
    "/overlay/{}",
    "/overlay/view/{}",
    "/overlay/static/{}",
)
BODY_PATHS = ("/overlay", "/overlay/{}", "/discord/presence")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
ODD_METHODS = ("PROPFIND", "TRACE", "CONNECT", "get", "FOO-BAR")

JsonValue = Any


@dataclass
class FuzzRequest:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    markers: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> str:
        """The path as the app sees it (percent-decoded, no query)."""
        return unquote(self.target.split("?", 1)[0], encoding="latin-1")

    @property
    def reflected_ok(self) -> list[str]:
        return [self.markers["path"]] if "path" in self.markers else []

    def __repr__(self) -> str:
        head = f"{self.method} {self.target!r} headers={self.headers!r}"
        return f"<{head} body={self.body[:300]!r}{'...' if len(self.body) > 300 else ''}>"


def markers() -> st.SearchStrategy[str]:
    return st.integers(0, 2**64 - 1).map(lambda n: f"mk{n:016x}")


# -- bodies -------------------------------------------------------------------------------
def json_values(marker: str) -> st.SearchStrategy[JsonValue]:
    """Arbitrary JSON with the marker mixed into strings (as a value and inside text)."""
    strings = st.one_of(
        st.text(max_size=40),
        st.just(marker),
        st.text(max_size=10).map(lambda s: s + marker + s),
    )
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        strings,
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=6),
            st.dictionaries(st.text(max_size=12), inner, max_size=6),
        ),
        max_leaves=30,
    )


def _team(marker: str) -> st.SearchStrategy[dict[str, JsonValue]]:
    text = st.one_of(st.just(marker), st.text(max_size=20))
    return st.fixed_dictionaries(
        {
            "score": st.one_of(st.integers(-3, 10), st.just(marker), st.floats()),
            "name": text,
            "primaryColor": text,
            "secondaryColor": text,
            "logoUrl": text,
        },
        optional={"extra": json_values(marker)},
    )


def overlay_like(marker: str) -> st.SearchStrategy[dict[str, JsonValue]]:
    """Bodies close to OverlayData, so that the cross-field rules and 200s are reached."""
    return st.fixed_dictionaries(
        {"blue": _team(marker), "red": _team(marker)},
        optional={
            "maxScore": st.one_of(st.integers(-1, 12), st.just(marker), st.none()),
            "cameraControlsCover": st.one_of(st.booleans(), st.just(marker)),
            "extra": json_values(marker),
        },
    )


@st.composite
def valid_overlays(draw: st.DrawFn, marker: str) -> dict[str, JsonValue]:
    """OverlayData that passes every rule (so 200s are reached), the marker in its texts."""
    max_score = draw(st.integers(1, 9))
    text = st.one_of(st.just(marker), st.text(min_size=1, max_size=30))

    def team(name: str) -> dict[str, JsonValue]:
        return {
            "score": draw(st.integers(0, max_score)),
            "name": name,
            "primaryColor": draw(text),
            "secondaryColor": draw(text),
            "logoUrl": draw(text),
        }

    state: dict[str, JsonValue] = {
        "blue": team(marker + "-blue"),
        "red": team(marker + "-red"),
        "maxScore": max_score,
    }
    if draw(st.booleans()):
        state["cameraControlsCover"] = draw(st.booleans())
    if draw(st.booleans()):
        state["mainAppField"] = draw(json_values(marker))
    return state


def presence_like(marker: str) -> st.SearchStrategy[dict[str, JsonValue]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "status": st.one_of(
                st.sampled_from(["online", "idle", "dnd", "invisible"]), st.just(marker)
            ),
            "type": st.one_of(st.integers(-2, 8), st.just(marker)),
            "name": st.one_of(st.text(max_size=200), st.just(marker)),
            "extra": st.just(marker),
        },
    )


def _json_bytes(value: JsonValue) -> bytes:
    return orjson.dumps(value)


def raw_bodies(marker: str) -> st.SearchStrategy[bytes]:
    """JSON documents, near-valid bodies, broken JSON and arbitrary bytes, all with the marker."""
    # Hypothesis leans towards the first branches of one_of: the bodies that reach the
    # handlers come first.
    documents = st.one_of(
        valid_overlays(marker),
        presence_like(marker),
        overlay_like(marker),
        json_values(marker),
    )
    encoded = documents.map(_json_bytes)
    return st.one_of(
        encoded,
        encoded,
        encoded.flatmap(lambda b: st.integers(0, max(len(b) - 1, 0)).map(lambda n: b[:n])),
        st.binary(max_size=200).map(lambda b: b + marker.encode() + b),
        documents.map(lambda d: orjson.dumps(d).decode().encode("utf-16")),
        st.integers(1, 200).map(lambda n: b"[" * n + marker.encode()),
        st.integers(500, 5000).map(lambda n: b"[" * n + b'"' + marker.encode() + b'"' + b"]" * n),
        st.integers(90_000, 160_000).map(lambda n: b'["' + marker.encode() * (n // 18) + b'"]'),
    )


CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "APPLICATION/JSON;charset=UTF-8",
    "application/problem+json",
    "application/json; charset=utf-16",
    "application/json; charset=latin-1",
    # Python codecs that are not text encodings (415, once a 500 from the codec lookup)
    "application/json; charset=rot13",
    "application/json; charset=zlib",
    "application/json; charset=base64",
    "application/json; charset=hex",
    "application/json; charset=punycode",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x",
    "",
    ";",
    "application/json; charset=",
)


def content_types(marker: str) -> st.SearchStrategy[str | None]:
    odd = st.sampled_from(
        [
            f"application/json; charset={marker}",
            f"application/{marker}+json",
            f"{marker}/{marker}",
            f"application/json; {marker}={marker}",
        ]
    )
    json = st.sampled_from(["application/json", "application/json; charset=utf-8"])
    # Half JSON (so that validation and the handlers are reached), half anything else.
    return st.one_of(json, json, json, st.sampled_from(CONTENT_TYPES), st.none(), odd)


# -- headers ------------------------------------------------------------------------------
_TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: Visible latin-1, space and tab: what a header value may carry on the wire.
_VALUE_CHARS = st.characters(
    codec="latin-1", categories=("L", "N", "P", "S", "Zs"), exclude_characters="\r\n\x00"
)
NAMED_HEADERS = (
    "Authorization",
    "Origin",
    "X-Forwarded-For",
    "X-Forwarded-Proto",
    "Forwarded",
    "X-Real-IP",
    "X-Request-Id",
    "Accept",
    "Accept-Encoding",
    "Cookie",
    "Referer",
    "User-Agent",
    "If-None-Match",
    "Range",
    "Access-Control-Request-Method",
    "Access-Control-Request-Headers",
)


def header_value(marker: str) -> st.SearchStrategy[str]:
    text = st.text(_VALUE_CHARS, max_size=60)
    return st.one_of(
        st.just(marker),
        st.tuples(text, text).map(lambda t: f"{t[0]}{marker}{t[1]}"),
        st.just(f"Bearer {marker}"),
        st.just(f"https://{marker}.example"),
        st.integers(1_000, 16_000).map(lambda n: ("x" * n) + marker),
        text,
    )


def header_lists(marker: str, token: str) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Named and random headers with odd values; the real token sometimes, so that protected
    routes are reached; at most ~64 headers, at most ~16 KB each."""
    random_name = st.text(_TOKEN_CHARS, min_size=1, max_size=30)
    pair = st.tuples(st.one_of(st.sampled_from(NAMED_HEADERS), random_name), header_value(marker))
    auth = st.sampled_from([[], [("Authorization", token)], [("Authorization", f"Bearer {token}")]])
    many = st.integers(20, 64).map(lambda n: [(f"X-Many-{i}", marker) for i in range(n)])
    return st.tuples(auth, st.lists(pair, max_size=8), st.one_of(st.just([]), many)).map(
        lambda t: [*t[0], *t[1], *t[2]]
    )


# -- paths --------------------------------------------------------------------------------
def segments(marker: str) -> st.SearchStrategy[str]:
    """One path segment as sent on the wire."""
    return st.one_of(
        st.just(marker),
        st.sampled_from([".", "..", "%2e%2e", "%2E", "%2f", "%00", "%ff", "", "~", "%", "%zz"]),
        st.text(max_size=20).map(lambda s: quote(s + marker, safe="")),
        st.text(max_size=20).map(lambda s: quote(s, safe="!$&'()*+,;=:@")),
        st.text(alphabet="abcXYZ019-_.", max_size=70),
        st.integers(65, 3000).map(lambda n: "a" * n),
    )


def targets(marker: str) -> st.SearchStrategy[str]:
    """Request targets: known routes with fuzzed segments, random paths, dot segments, queries."""
    known = st.tuples(st.sampled_from(KNOWN_PATHS), segments(marker)).map(
        lambda t: t[0].replace("{}", t[1])
    )
    random_path = st.lists(segments(marker), min_size=1, max_size=8).map(
        lambda parts: "/" + "/".join(parts)
    )
    dotted = st.tuples(
        st.sampled_from(["/overlay", "/discord", "/health", "/overlay/view", "/"]),
        st.lists(st.sampled_from(["..", ".", "%2e%2e", "", "metrics"]), min_size=1, max_size=5),
    ).map(lambda t: t[0].rstrip("/") + "/" + "/".join(t[1]))
    query = st.one_of(
        st.just(""),
        st.just(f"?theme={marker}&key={marker}&overlay={marker}"),
        st.text(max_size=30).map(lambda s: "?" + quote(s, safe="=&") + marker),
        st.just("?" + "&".join(f"a{i}={marker}" for i in range(300))),
    )
    path = st.one_of(known, known, random_path, dotted)
    return st.tuples(path, query).map(lambda t: t[0] + t[1])


# -- whole requests -----------------------------------------------------------------------
@st.composite
def _any_body_requests(draw: st.DrawFn, token: str) -> FuzzRequest:
    """Body routes (and some others) with arbitrary bodies and content types, authenticated."""
    marker, path_marker = draw(markers()), draw(markers())
    body_path = st.sampled_from(BODY_PATHS)
    other = st.sampled_from(["/discord", "/", "/overlay/view/{}"])
    template = draw(st.one_of(body_path, body_path, body_path, other))
    name = draw(
        st.one_of(st.just(path_marker), st.sampled_from([f"{path_marker}.x", f"a b{path_marker}"]))
    )
    target = template.replace("{}", quote(name, safe=""))
    headers = [("Authorization", token)]
    content_type = draw(content_types(marker))
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    body = draw(raw_bodies(marker))
    method = draw(st.sampled_from(["POST"] * 8 + ["PUT", "PATCH"]))
    return FuzzRequest(method, target, headers, body, {"body": marker, "path": path_marker})


@st.composite
def _valid_overlay_requests(draw: st.DrawFn, token: str) -> FuzzRequest:
    """Well-formed overlay posts (200s), the marker in the body and as the overlay name."""
    marker, path_marker = draw(markers()), draw(markers())
    target = draw(st.sampled_from(["/overlay", f"/overlay/{path_marker}"]))
    content_type = draw(st.sampled_from(["application/json", "application/json; charset=utf-8"]))
    headers = [("Authorization", token), ("Content-Type", content_type)]
    body = orjson.dumps(draw(valid_overlays(marker)))
    return FuzzRequest("POST", target, headers, body, {"body": marker, "path": path_marker})


def body_requests(token: str) -> st.SearchStrategy[FuzzRequest]:
    """Mostly hostile bodies; about a quarter well-formed overlay posts so handlers run."""
    hostile = _any_body_requests(token)
    return st.one_of(hostile, _valid_overlay_requests(token), hostile, hostile)


@st.composite
def header_requests(draw: st.DrawFn, token: str) -> FuzzRequest:
    marker = draw(markers())
    template = draw(st.sampled_from(KNOWN_PATHS))
    target = template.replace("{}", "fuzz")
    method = draw(st.sampled_from(("GET", "GET", "POST", "OPTIONS", "HEAD", "DELETE")))
    headers = draw(header_lists(marker, token))
    body = b""
    if method == "POST" and template in BODY_PATHS:
        headers.append(("Content-Type", "application/json"))
        body = orjson.dumps(draw(overlay_like("no-marker-here")))
    return FuzzRequest(method, target, headers, body, {"header": marker})


@st.composite
def path_requests(draw: st.DrawFn, token: str) -> FuzzRequest:
    marker = draw(markers())
    method = draw(st.one_of(st.sampled_from(METHODS), st.sampled_from(ODD_METHODS)))
    target = draw(targets(marker))
    auth = draw(st.booleans())
    headers = [("Authorization", token)] if auth else []
    return FuzzRequest(method, target, headers, b"", {"path": marker})
