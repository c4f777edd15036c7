"""The kinds that accept one of fixed values: literal, enum (strings), a Python Enum."""

from __future__ import annotations

import enum as _enum
import json
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from .codegen import Gen, Out
from .schema import Presence, Schema

E = TypeVar("E", bound=_enum.Enum)
L = TypeVar("L", str, int, float, bool, None)


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def emit_choice(
    g: Gen,
    match: str,
    value: str,
    src: str,
    parts: tuple[str, ...],
    ind: int,
    out: Out,
    bad: str,
    message: str,
) -> None:
    """Literal and enum kinds: `value` when `match`, else invalid_value ("required" for a
    missing value, as Zod 4 reports a missing literal or enum key)."""
    g.line(ind, f"if {match}:")
    g.line(ind + 1, out(value))
    g.line(ind, f"elif {src} is MISSING:")
    g.issue(ind + 1, parts, "invalid_value", "required")
    g.line(ind + 1, f"{bad} = True")
    g.line(ind, "else:")
    g.issue(ind + 1, parts, "invalid_value", message)
    g.line(ind + 1, f"{bad} = True")


class LiteralSchema(Schema[L], Generic[L]):
    kind = "literal"
    presence = Presence.CHECKED

    def __init__(self, value: L) -> None:
        self.value: L = value

    def _fast_test(self, g: Gen, src: str) -> str | None:
        if self.value is None:
            return f"{src} is None"
        kind = g.const(type(self.value), "lit_type")
        return f"(type({src}) is {kind} and {src} == {g.const(self.value, 'lit')})"

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        lit = g.const(self.value, "lit")
        if self.value is None:
            match = f"{src} is None"
        elif type(self.value) is int:  # 1.0 is the number 1, as in JSON and Zod
            match = f"(type({src}) is int or type({src}) is float) and {src} == {lit}"
        else:
            match = f"type({src}) is {g.const(type(self.value), 'lit_type')} and {src} == {lit}"
        emit_choice(g, match, lit, src, parts, ind, out, bad, f"expected {json.dumps(self.value)}")

    def _json(self) -> dict[str, Any]:
        return {"type": _json_type(self.value), "const": self.value}


class EnumSchema(Schema[str]):
    """One of a fixed set of strings."""

    kind = "enum"
    presence = Presence.CHECKED

    def __init__(self, values: Sequence[str]) -> None:
        if not values or not all(isinstance(item, str) for item in values):
            raise ValueError("enum() needs a non-empty sequence of strings")
        self.values = tuple(dict.fromkeys(values))

    def _fast_test(self, g: Gen, src: str) -> str | None:
        allowed = g.const(frozenset(self.values), "enum")
        return f"(isinstance({src}, str) and {src} in {allowed})"

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        match = f"isinstance({src}, str) and {src} in {g.const(frozenset(self.values), 'enum')}"
        options = " | ".join(json.dumps(item) for item in self.values)
        emit_choice(g, match, src, src, parts, ind, out, bad, f"expected one of {options}")

    def _json(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.values)}


class NativeEnumSchema(Schema[E], Generic[E]):
    """A Python Enum, given by its values (bool and int are told apart)."""

    kind = "native_enum"
    presence = Presence.CHECKED

    def __init__(self, enum_type: type[E]) -> None:
        self.enum_type = enum_type
        self._table = {(type(m.value), m.value): m for m in enum_type}

    def _lookup(self, value: object) -> E | None:
        if isinstance(value, str | int | float | bool):
            return self._table.get((type(value), value))
        return None

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        res = g.var("m")
        g.line(ind, f"{res} = {g.const(self._lookup, 'enum_lookup')}({src})")
        options = " | ".join(json.dumps(m.value) for m in self.enum_type)
        message = f"expected one of {options}"
        emit_choice(g, f"{res} is not None", res, src, parts, ind, out, bad, message)

    def _json(self) -> dict[str, Any]:
        return {"enum": [m.value for m in self.enum_type]}
