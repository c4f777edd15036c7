"""The value types and field checks of the settings schema (asgi_app.settings): `Secret`,
`Tokens` (secret lists), origins, proxy lists, hex keys and the INTERACTION_POLICY document."""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import urlsplit

import orjson

from asgi_app import validation as v

ResponseMode = Literal["defer", "defer-ephemeral", "respond"]
RESPONSE_MODES: tuple[ResponseMode, ...] = ("defer", "defer-ephemeral", "respond")
MASK = "**********"
TOKEN_MIN_CHARS = 32


class Secret:
    """A value that must not be logged: repr and str are masked, `.get()` gives it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return MASK

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        return bool(self._value)


class Tokens(Secret):
    """A comma-separated list of shared secrets (AUTH_TOKEN, PROXY_TOKEN, METRICS_TOKEN,
    VIEW_KEY_SECRET): every one is accepted, so a secret is rotated without a gap by listing
    the new one first and dropping the old one later. `.get()` is the first (the one that
    signs and keys what this server makes); `.all()` every one. Masked like `Secret`."""

    __slots__ = ("_all",)

    def __init__(self, values: Sequence[str]) -> None:
        if not values:
            raise ValueError("at least one token")
        super().__init__(values[0])
        self._all = tuple(values)

    def all(self) -> tuple[str, ...]:
        return self._all

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tokens):
            return NotImplemented
        mine, theirs = "\n".join(self._all).encode(), "\n".join(other._all).encode()
        return hmac.compare_digest(mine, theirs)


def _split_tokens(text: str) -> list[str]:
    return [part.strip() for part in text.split(",")]


def _check_tokens(text: str, report: v.Reporter) -> None:
    parts = _split_tokens(text)
    for index, part in enumerate(parts):
        where = (index,) if len(parts) > 1 else ()
        if not part:
            report.add("must not have an empty entry", path=where)
        elif len(part) < TOKEN_MIN_CHARS:
            report.add(f"must be at least {TOKEN_MIN_CHARS} characters long", path=where)


def tokens() -> v.Schema[Tokens]:
    """One secret of at least 32 characters, or several separated by commas."""
    return v.string().super_refine(_check_tokens).transform(lambda s: Tokens(_split_tokens(s)))


def normalise_origin(text: str) -> str:
    """`scheme://host[:port]` (http or https), normalised; ValueError otherwise."""
    parts = urlsplit(text.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("not an origin")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError("not an origin")
    port = parts.port  # ValueError on a bad port
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")


def is_origin(text: str) -> bool:
    try:
        normalise_origin(text)
    except ValueError:
        return False
    return True


def proxy_list(text: str) -> tuple[str, ...]:
    """`10.0.0.0/8, ::1` -> ("10.0.0.0/8", "::1"); `*` trusts every peer."""
    entries = tuple(part.strip() for part in text.split(",") if part.strip())
    for entry in entries:
        if entry != "*":
            ipaddress.ip_network(entry, strict=False)  # ValueError when not an address/CIDR
    if not entries:
        raise ValueError("empty list")
    return entries


def is_proxy_list(text: str) -> bool:
    try:
        proxy_list(text)
    except ValueError:
        return False
    return True


_HEX_64 = re.compile(r"^[0-9a-fA-F]{64}$")


def hex_key() -> v.Schema[str]:
    """A 32-byte key written as 64 hexadecimal characters (lower-cased)."""
    return (
        v.string().regex(_HEX_64.pattern, "must be 64 hexadecimal characters").transform(str.lower)
    )


@dataclass(frozen=True)
class InteractionPolicy:
    """INTERACTION_POLICY: the response mode per command name and per custom_id prefix."""

    commands: Mapping[str, ResponseMode] = field(default_factory=lambda: MappingProxyType({}))
    components: Mapping[str, ResponseMode] = field(default_factory=lambda: MappingProxyType({}))


_mode = v.enum(list(RESPONSE_MODES))
_name = v.string().min(1, "must not be empty")
POLICY_SCHEMA = v.object(
    {
        "commands": v.record(_mode, _name).default({}),
        "components": v.record(_mode, _name).default({}),
    }
).strict()


def _check_policy(text: str, report: v.Reporter) -> None:
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        report.add("must be a JSON object", code="invalid_json")
        return
    result = POLICY_SCHEMA.safe_parse(document)
    if result.error is not None:
        for issue in result.error.issues:
            report.add(issue.message, path=issue.path, code=issue.code)


def _to_policy(text: str) -> InteractionPolicy:
    document: dict[str, Any] = POLICY_SCHEMA.parse(orjson.loads(text))
    return InteractionPolicy(
        commands=MappingProxyType(dict(document["commands"])),
        components=MappingProxyType(dict(document["components"])),
    )


#: INTERACTION_POLICY: a JSON string, each problem reported at its path inside the document.
interaction_policy: v.Schema[InteractionPolicy] = (
    v.string().super_refine(_check_policy).transform(_to_policy)
)
