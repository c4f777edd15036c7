"""Leaf kinds: string, number, int, boolean, literal, enum, datetime, any."""

from __future__ import annotations

import enum as _enum
import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, Self, TypeVar

from . import checks
from .codegen import Gen, Out, path_expr
from .schema import Schema

E = TypeVar("E", bound=_enum.Enum)
L = TypeVar("L", str, int, float, bool, None)
N = TypeVar("N", int, float)
Coerce = Callable[[object], object] | None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _emit_coerce(g: Gen, src: str, coerce: Coerce, ind: int) -> str:
    """Run the coercion helper first (env values); returns the variable to validate."""
    if coerce is None:
        return src
    var = g.var("c")
    g.line(ind, f"{var} = {g.const(coerce, 'coerce')}({src})")
    return var


class StringSchema(Schema[str]):
    kind = "string"
    rejects_missing = True

    def __init__(self, coerce: Coerce = None) -> None:
        self._checks: tuple[tuple[str, Any, str], ...] = ()  # (op, argument, message)
        self._trim = False
        self._coerce = coerce
        self.empty_is_missing = coerce is not None

    def _add(self, op: str, arg: object, message: str) -> Self:
        clone = self._clone()
        clone._checks = (*self._checks, (op, arg, message))
        return clone

    def min(self, n: int, message: str | None = None) -> Self:
        return self._add("min", n, message or f"must contain at least {_plural(n, 'character')}")

    def max(self, n: int, message: str | None = None) -> Self:
        return self._add("max", n, message or f"must contain at most {_plural(n, 'character')}")

    def length(self, n: int, message: str | None = None) -> Self:
        return self._add("length", n, message or f"must contain exactly {_plural(n, 'character')}")

    def nonempty(self, message: str = "must not be empty") -> Self:
        return self._add("min", 1, message)

    def regex(self, pattern: str | re.Pattern[str], message: str = "invalid format") -> Self:
        return self._add("regex", re.compile(pattern), message)

    def url(self, schemes: Sequence[str] | None = None, message: str = "invalid url") -> Self:
        allowed = frozenset(s.lower() for s in schemes) if schemes is not None else None
        return self._add("url", allowed, message)

    def email(self, message: str = "invalid email") -> Self:
        return self._add("email", None, message)

    def datetime(self, message: str = "invalid datetime") -> Self:
        return self._add("datetime", None, message)

    def trim(self) -> Self:
        clone = self._clone()
        clone._trim = True
        return clone

    def _fast_test(self, g: Gen, src: str) -> str | None:
        if self._coerce is not None or self._trim:
            return None
        terms = [f"isinstance({src}, str)"]
        for op, arg, _ in self._checks:
            if op == "min":
                terms.append(f"len({src}) >= {arg!r}")
            elif op == "max":
                terms.append(f"len({src}) <= {arg!r}")
            elif op == "length":
                terms.append(f"len({src}) == {arg!r}")
            elif op == "regex":
                terms.append(f"{g.const(arg, 're')}.search({src}) is not None")
            elif op == "url":
                fn = g.const(checks.is_url, "is_url")
                terms.append(f"{fn}({src}, {g.const(arg, 'schemes')})")
            elif op == "email":
                terms.append(f"{g.const(checks.EMAIL, 'email')}.fullmatch({src}) is not None")
            elif op == "datetime":
                terms.append(f"{g.const(checks.is_datetime, 'is_dt')}({src})")
        return " and ".join(terms)

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        src = _emit_coerce(g, src, self._coerce, ind)
        g.line(ind, f"if not isinstance({src}, str):")
        g.type_error(ind + 1, src, parts, "string", bad)
        g.line(ind, "else:")
        i = ind + 1
        if self._trim:
            trimmed = g.var("s")
            g.line(i, f"{trimmed} = {src}.strip()")
            src = trimmed
        for op, arg, message in self._checks:
            if op == "min":
                g.line(i, f"if len({src}) < {arg!r}:")
                g.issue(i + 1, parts, "too_small", message)
            elif op == "max":
                g.line(i, f"if len({src}) > {arg!r}:")
                g.issue(i + 1, parts, "too_big", message)
            elif op == "length":
                g.line(i, f"if len({src}) < {arg!r}:")
                g.issue(i + 1, parts, "too_small", message)
                g.line(i, f"elif len({src}) > {arg!r}:")
                g.issue(i + 1, parts, "too_big", message)
            elif op == "regex":
                g.line(i, f"if {g.const(arg, 're')}.search({src}) is None:")
                g.issue(i + 1, parts, "invalid_string", message)
            elif op == "url":
                fn = g.const(checks.is_url, "is_url")
                g.line(i, f"if not {fn}({src}, {g.const(arg, 'schemes')}):")
                g.issue(i + 1, parts, "invalid_string", message)
            elif op == "email":
                g.line(i, f"if {g.const(checks.EMAIL, 'email')}.fullmatch({src}) is None:")
                g.issue(i + 1, parts, "invalid_string", message)
            elif op == "datetime":
                g.line(i, f"if not {g.const(checks.is_datetime, 'is_dt')}({src}):")
                g.issue(i + 1, parts, "invalid_string", message)
        g.line(i, out(src))

    def _json(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        for op, arg, _ in self._checks:
            if op == "min":
                schema["minLength"] = max(arg, schema.get("minLength", 0))
            elif op == "max":
                schema["maxLength"] = min(arg, schema.get("maxLength", arg))
            elif op == "length":
                schema["minLength"] = schema["maxLength"] = arg
            elif op == "regex":
                schema["pattern"] = arg.pattern
            elif op == "url":
                schema["format"] = "uri"
            elif op == "email":
                schema["format"] = "email"
            elif op == "datetime":
                schema["format"] = "date-time"
        return schema


_NUMBER_OPS = {
    "gte": ("<", "too_small", "must be at least {}", "minimum"),
    "gt": ("<=", "too_small", "must be greater than {}", "exclusiveMinimum"),
    "lte": (">", "too_big", "must be at most {}", "maximum"),
    "lt": (">=", "too_big", "must be less than {}", "exclusiveMaximum"),
}


class _NumericSchema(Schema[N], Generic[N]):
    rejects_missing = True
    _expected = "number"

    def __init__(self, coerce: Coerce = None) -> None:
        self._checks: tuple[tuple[str, float, str], ...] = ()
        self._coerce = coerce
        self.empty_is_missing = coerce is not None

    def _add(self, op: str, arg: float, message: str | None) -> Self:
        if op == "multiple_of" and arg <= 0:
            raise ValueError("multiple_of needs a positive number")
        clone = self._clone()
        default = (
            f"must be a multiple of {arg!r}" if op == "multiple_of" else _NUMBER_OPS[op][2]
        ).format(repr(arg))
        clone._checks = (*self._checks, (op, arg, message or default))
        return clone

    def min(self, n: float, message: str | None = None) -> Self:
        return self._add("gte", n, message)

    gte = min

    def max(self, n: float, message: str | None = None) -> Self:
        return self._add("lte", n, message)

    lte = max

    def gt(self, n: float, message: str | None = None) -> Self:
        return self._add("gt", n, message)

    def lt(self, n: float, message: str | None = None) -> Self:
        return self._add("lt", n, message)

    def positive(self, message: str | None = None) -> Self:
        return self._add("gt", 0, message)

    def nonnegative(self, message: str | None = None) -> Self:
        return self._add("gte", 0, message)

    def negative(self, message: str | None = None) -> Self:
        return self._add("lt", 0, message)

    def multiple_of(self, n: float, message: str | None = None) -> Self:
        return self._add("multiple_of", n, message)

    def _convert(self, g: Gen, src: str, num: str, ind: int) -> None:
        raise NotImplementedError

    def _type_test(self, src: str) -> str:
        raise NotImplementedError

    def _fast_test(self, g: Gen, src: str) -> str | None:
        if self._coerce is not None:
            return None
        terms = [self._type_test(src)]
        for op, arg, _ in self._checks:
            if op == "multiple_of":
                terms.append(f"{src} % {arg!r} == 0")
            else:
                terms.append(f"not {src} {_NUMBER_OPS[op][0]} {arg!r}")
        return " and ".join(terms)

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        src = _emit_coerce(g, src, self._coerce, ind)
        num = g.var("n")
        self._convert(g, src, num, ind)
        g.line(ind, f"if {num} is None:")
        fn = g.const(checks.number_issue, "num_issue")
        g.line(ind + 1, f"issues.append({fn}({path_expr(parts)}, {self._expected!r}, {src}))")
        g.line(ind + 1, f"{bad} = True")
        g.line(ind, "else:")
        for op, arg, message in self._checks:
            if op == "multiple_of":
                g.line(ind + 1, f"if {num} % {arg!r} != 0:")
                g.issue(ind + 2, parts, "not_multiple_of", message)
                continue
            compare, code, _, _ = _NUMBER_OPS[op]
            g.line(ind + 1, f"if {num} {compare} {arg!r}:")
            g.issue(ind + 2, parts, code, message)
        g.line(ind + 1, out(num))

    def _json(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer" if self._expected == "integer" else "number"}
        for op, arg, _ in self._checks:
            if op == "multiple_of":
                schema["multipleOf"] = arg
            else:
                schema[_NUMBER_OPS[op][3]] = arg
        return schema


class NumberSchema(_NumericSchema[float]):
    """int or finite float; bool is not a number. Outputs the value unchanged."""

    kind = "number"

    def _type_test(self, src: str) -> str:
        return f"(type({src}) is int or (type({src}) is float and {src} - {src} == 0.0))"

    def _convert(self, g: Gen, src: str, num: str, ind: int) -> None:
        fn = g.const(checks.as_number, "as_number")
        g.line(
            ind,
            f"{num} = {src} if type({src}) is int or (type({src}) is float and "
            f"{src} - {src} == 0.0) else {fn}({src})",
        )


class IntSchema(_NumericSchema[int]):
    """int (not bool); an integral float such as 3.0 is accepted as 3."""

    kind = "int"
    _expected = "integer"

    def _type_test(self, src: str) -> str:
        return f"type({src}) is int"

    def _convert(self, g: Gen, src: str, num: str, ind: int) -> None:
        fn = g.const(checks.as_int, "as_int")
        g.line(ind, f"{num} = {src} if type({src}) is int else {fn}({src})")


class BooleanSchema(Schema[bool]):
    kind = "boolean"
    rejects_missing = True

    def __init__(self, coerce: Coerce = None) -> None:
        self._coerce = coerce
        self.empty_is_missing = coerce is not None

    def _fast_test(self, g: Gen, src: str) -> str | None:
        return None if self._coerce is not None else f"({src} is True or {src} is False)"

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        src = _emit_coerce(g, src, self._coerce, ind)
        g.line(ind, f"if {src} is True or {src} is False:")
        g.line(ind + 1, out(src))
        g.line(ind, "else:")
        g.type_error(ind + 1, src, parts, "boolean", bad)

    def _json(self) -> dict[str, Any]:
        return {"type": "boolean"}


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


class LiteralSchema(Schema[L], Generic[L]):
    kind = "literal"

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
            g.line(ind, f"if {src} is None:")
        else:
            kind = g.const(type(self.value), "lit_type")
            g.line(ind, f"if type({src}) is {kind} and {src} == {lit}:")
        g.line(ind + 1, out(lit))
        g.line(ind, f"elif {src} is MISSING:")
        g.type_error(ind + 1, src, parts, "", bad)
        g.line(ind, "else:")
        g.issue(ind + 1, parts, "invalid_literal", f"expected {json.dumps(self.value)}")
        g.line(ind + 1, f"{bad} = True")

    def _json(self) -> dict[str, Any]:
        return {"type": _json_type(self.value), "const": self.value}


class EnumSchema(Schema[str]):
    """One of a fixed set of strings."""

    kind = "enum"
    rejects_missing = True

    def __init__(self, values: Sequence[str]) -> None:
        if not values or not all(isinstance(item, str) for item in values):
            raise ValueError("enum() needs a non-empty sequence of strings")
        self.values = tuple(dict.fromkeys(values))

    def _fast_test(self, g: Gen, src: str) -> str | None:
        allowed = g.const(frozenset(self.values), "enum")
        return f"(isinstance({src}, str) and {src} in {allowed})"

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        allowed = g.const(frozenset(self.values), "enum")
        g.line(ind, f"if not isinstance({src}, str):")
        g.type_error(ind + 1, src, parts, "string", bad)
        g.line(ind, f"elif {src} in {allowed}:")
        g.line(ind + 1, out(src))
        g.line(ind, "else:")
        options = " | ".join(json.dumps(item) for item in self.values)
        g.issue(ind + 1, parts, "invalid_enum_value", f"expected one of {options}")
        g.line(ind + 1, f"{bad} = True")

    def _json(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.values)}


class NativeEnumSchema(Schema[E], Generic[E]):
    """A Python Enum, given by its values (bool and int are told apart)."""

    kind = "native_enum"

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
        g.line(ind, f"if {res} is not None:")
        g.line(ind + 1, out(res))
        g.line(ind, f"elif {src} is MISSING:")
        g.type_error(ind + 1, src, parts, "", bad)
        g.line(ind, "else:")
        options = " | ".join(json.dumps(m.value) for m in self.enum_type)
        g.issue(ind + 1, parts, "invalid_enum_value", f"expected one of {options}")
        g.line(ind + 1, f"{bad} = True")

    def _json(self) -> dict[str, Any]:
        return {"enum": [m.value for m in self.enum_type]}


class DateTimeSchema(Schema[datetime]):
    """An ISO 8601 date-time string (or a datetime), returned as a datetime."""

    kind = "datetime"
    rejects_missing = True

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        res = g.var("d")
        g.line(ind, f"if not isinstance({src}, (str, {g.const(datetime, 'datetime')})):")
        g.type_error(ind + 1, src, parts, "date-time string", bad)
        g.line(ind, "else:")
        g.line(ind + 1, f"{res} = {g.const(checks.parse_datetime, 'parse_dt')}({src})")
        g.line(ind + 1, f"if {res} is None:")
        g.issue(ind + 2, parts, "invalid_date", "invalid date")
        g.line(ind + 2, f"{bad} = True")
        g.line(ind + 1, "else:")
        g.line(ind + 2, out(res))

    def _json(self) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}


class AnySchema(Schema[Any]):
    """Anything, passed through unchanged (an absent key stays absent)."""

    kind = "any"
    accepts_missing = True

    def _fast_test(self, g: Gen, src: str) -> str | None:
        return "True"

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        g.line(ind, f"if {src} is not MISSING:")
        g.line(ind + 1, out(src))

    def _json(self) -> dict[str, Any]:
        return {}
