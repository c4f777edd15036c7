"""Leaf kinds: string, number, int, boolean, datetime, any (literal and enum: choices.py)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Generic, Self, TypeVar

from . import formats
from .checks import (
    Bound,
    Check,
    DateTimeText,
    Email,
    LengthEquals,
    MaxLength,
    MinLength,
    MultipleOf,
    Regex,
    SafeInteger,
    StringStep,
    Trim,
    Url,
)
from .codegen import Gen, Out, path_expr
from .schema import Presence, Schema

N = TypeVar("N", int, float)
T = TypeVar("T")
Coerce = Callable[[object], object] | None


class _Scalar(Schema[T], Generic[T]):
    """A leaf whose own type test reports a missing value, optionally after a coercion
    (environment text), under which blank text also counts as missing."""

    presence = Presence.CHECKED
    _coerce: Coerce = None

    def _missing_test(self, src: str) -> str:
        if self._coerce is None:
            return f"{src} is MISSING"
        return f"{src} is MISSING or (isinstance({src}, str) and not {src}.strip())"

    def _schema(self) -> dict[str, Any]:
        schema = super()._schema()
        if self._coerce is None:
            return schema
        return {"anyOf": [schema, {"type": "string"}]}  # the environment's text, coerced

    def _emit_coerce(self, g: Gen, src: str, ind: int) -> str:
        """Run the coercion helper first (env values); returns the variable to validate."""
        if self._coerce is None:
            return src
        var = g.var("c")
        g.line(ind, f"{var} = {g.const(self._coerce, 'coerce')}({src})")
        return var


class StringSchema(_Scalar[str]):
    kind = "string"

    def __init__(self, coerce: Coerce = None) -> None:
        self._steps: tuple[StringStep, ...] = ()  # checks and trims, in the order given
        self._coerce = coerce

    def _add(self, step: StringStep) -> Self:
        clone = self._clone()
        clone._steps = (*self._steps, step)
        return clone

    def min(self, n: int, message: str | None = None) -> Self:
        return self._add(MinLength.of(n, message))

    def max(self, n: int, message: str | None = None) -> Self:
        return self._add(MaxLength.of(n, message))

    def length(self, n: int, message: str | None = None) -> Self:
        return self._add(LengthEquals.of(n, message))

    def nonempty(self, message: str = "must not be empty") -> Self:
        return self._add(MinLength(message, 1))

    def regex(self, pattern: str | re.Pattern[str], message: str = "invalid format") -> Self:
        return self._add(Regex(message, re.compile(pattern)))

    def url(self, schemes: Sequence[str] | None = None, message: str = "invalid url") -> Self:
        allowed = frozenset(s.lower() for s in schemes) if schemes is not None else None
        return self._add(Url(message, allowed))

    def email(self, message: str = "invalid email") -> Self:
        return self._add(Email(message))

    def datetime(
        self,
        message: str = "invalid datetime",
        *,
        offset: bool = False,
        local: bool = False,
        precision: int | None = None,
    ) -> Self:
        """An ISO 8601 date-time as Zod 4 checks it: "Z" only unless `offset` (+hh:mm) or
        `local` (no zone); `precision` digits of fraction (-1: no seconds)."""
        pattern = formats.datetime_pattern(offset, local, precision)
        return self._add(DateTimeText(message, pattern, local))

    def trim(self) -> Self:
        return self._add(Trim())

    def _checks(self) -> list[Check]:
        return [step for step in self._steps if isinstance(step, Check)]

    def _fast_test(self, g: Gen, src: str) -> str | None:
        if self._coerce is not None or any(isinstance(s, Trim) for s in self._steps):
            return None
        return " and ".join([f"isinstance({src}, str)"] + [c.test(g, src) for c in self._checks()])

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        src = self._emit_coerce(g, src, ind)
        g.line(ind, f"if not isinstance({src}, str):")
        g.type_error(ind + 1, src, parts, "string", bad)
        g.line(ind, "else:")
        for step in self._steps:
            if isinstance(step, Trim):
                src = step.emit(g, src, ind + 1)
            else:
                step.emit(g, src, parts, ind + 1)
        g.line(ind + 1, out(src))

    def _json(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        trimmed = False
        for step in self._steps:
            if isinstance(step, Trim):
                trimmed = True
            elif not trimmed:
                step.json(schema)
            elif isinstance(step, MinLength | LengthEquals):
                # after trim(): only "at least n" still holds for the untrimmed input
                MinLength(step.message, step.n).json(schema)
        return schema


class _NumericSchema(_Scalar[N], Generic[N]):
    _expected = "number"
    #: Checks of the kind itself, run before the ones added (not exported to JSON Schema).
    _range: tuple[Check, ...] = ()

    def __init__(self, coerce: Coerce = None) -> None:
        self._checks: tuple[Check, ...] = ()
        self._coerce = coerce

    def _add(self, check: Check) -> Self:
        clone = self._clone()
        clone._checks = (*self._checks, check)
        return clone

    def min(self, n: float, message: str | None = None) -> Self:
        return self._add(Bound.of("gte", n, message))

    gte = min

    def max(self, n: float, message: str | None = None) -> Self:
        return self._add(Bound.of("lte", n, message))

    lte = max

    def gt(self, n: float, message: str | None = None) -> Self:
        return self._add(Bound.of("gt", n, message))

    def lt(self, n: float, message: str | None = None) -> Self:
        return self._add(Bound.of("lt", n, message))

    def positive(self, message: str | None = None) -> Self:
        return self._add(Bound.of("gt", 0, message))

    def nonnegative(self, message: str | None = None) -> Self:
        return self._add(Bound.of("gte", 0, message))

    def negative(self, message: str | None = None) -> Self:
        return self._add(Bound.of("lt", 0, message))

    def multiple_of(self, n: float, message: str | None = None) -> Self:
        return self._add(MultipleOf.of(n, message))

    def _convert(self, g: Gen, src: str, num: str, ind: int) -> None:
        raise NotImplementedError

    def _type_test(self, src: str) -> str:
        raise NotImplementedError

    def _fast_test(self, g: Gen, src: str) -> str | None:
        if self._coerce is not None:
            return None
        checks = (*self._range, *self._checks)
        return " and ".join([self._type_test(src)] + [c.test(g, src) for c in checks])

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        src = self._emit_coerce(g, src, ind)
        num = g.var("n")
        self._convert(g, src, num, ind)
        g.line(ind, f"if {num} is None:")
        fn = g.const(formats.number_issue, "num_issue")
        g.line(ind + 1, f"issues.append({fn}({path_expr(parts)}, {self._expected!r}, {src}))")
        g.line(ind + 1, f"{bad} = True")
        g.line(ind, "else:")
        for check in (*self._range, *self._checks):
            check.emit(g, num, parts, ind + 1)
        g.line(ind + 1, out(num))

    def _json(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer" if self._expected == "integer" else "number"}
        for check in self._checks:
            check.json(schema)
        return schema


class NumberSchema(_NumericSchema[float]):
    """int or finite float; bool is not a number. Outputs the value unchanged."""

    kind = "number"

    def _type_test(self, src: str) -> str:
        return f"(type({src}) is int or (type({src}) is float and {src} - {src} == 0.0))"

    def _convert(self, g: Gen, src: str, num: str, ind: int) -> None:
        fn = g.const(formats.as_number, "as_number")
        g.line(
            ind,
            f"{num} = {src} if type({src}) is int or (type({src}) is float and "
            f"{src} - {src} == 0.0) else {fn}({src})",
        )


_SAFE = f"must be a safe integer (within ±{formats.MAX_SAFE_INTEGER})"


class IntSchema(_NumericSchema[int]):
    """int (not bool) within the safe-integer range (±(2**53 - 1), as Zod's `z.int()`:
    too_big / too_small beyond it); an integral float such as 3.0 is accepted as 3."""

    kind = "int"
    _expected = "integer"

    @property
    def _range(self) -> tuple[Check, ...]:  # type: ignore[override]
        """The safe-integer range, on the sides the added bounds leave open."""
        limit = formats.MAX_SAFE_INTEGER
        bounds = [c for c in self._checks if isinstance(c, Bound)]
        low = not any(c.op in ("gte", "gt") and c.value >= -limit for c in bounds)
        high = not any(c.op in ("lte", "lt") and c.value <= limit for c in bounds)
        return (SafeInteger(_SAFE, low, high),) if low or high else ()

    def _type_test(self, src: str) -> str:
        return f"type({src}) is int"

    def _fast_test(self, g: Gen, src: str) -> str | None:
        """One chained comparison for the safe range and every bound (integers are
        discrete: `gt(a)` is `>= floor(a) + 1`), then any multiple_of."""
        bounds = [c.value for c in self._checks if isinstance(c, Bound)]
        if self._coerce is not None or not all(math.isfinite(b) for b in bounds):
            return None
        low, high = -formats.MAX_SAFE_INTEGER, formats.MAX_SAFE_INTEGER
        others: list[str] = []
        for check in self._checks:
            if not isinstance(check, Bound):
                others.append(check.test(g, src))
            elif check.op == "gte":
                low = max(low, math.ceil(check.value))
            elif check.op == "gt":
                low = max(low, math.floor(check.value) + 1)
            elif check.op == "lte":
                high = min(high, math.floor(check.value))
            else:
                high = min(high, math.ceil(check.value) - 1)
        return " and ".join([f"type({src}) is int and {low} <= {src} <= {high}", *others])

    def _convert(self, g: Gen, src: str, num: str, ind: int) -> None:
        fn = g.const(formats.as_int, "as_int")
        g.line(ind, f"{num} = {src} if type({src}) is int else {fn}({src})")


class BooleanSchema(_Scalar[bool]):
    kind = "boolean"

    def __init__(self, coerce: Coerce = None) -> None:
        self._coerce = coerce

    def _fast_test(self, g: Gen, src: str) -> str | None:
        return None if self._coerce is not None else f"({src} is True or {src} is False)"

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        src = self._emit_coerce(g, src, ind)
        g.line(ind, f"if {src} is True or {src} is False:")
        g.line(ind + 1, out(src))
        g.line(ind, "else:")
        g.type_error(ind + 1, src, parts, "boolean", bad)

    def _json(self) -> dict[str, Any]:
        return {"type": "boolean"}


class DateTimeSchema(Schema[datetime]):
    """An ISO 8601 date-time string (or a datetime), returned as a datetime."""

    kind = "datetime"
    presence = Presence.CHECKED

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        res = g.var("d")
        g.line(ind, f"if not isinstance({src}, (str, {g.const(datetime, 'datetime')})):")
        g.type_error(ind + 1, src, parts, "date-time string", bad)
        g.line(ind, "else:")
        g.line(ind + 1, f"{res} = {g.const(formats.parse_datetime, 'parse_dt')}({src})")
        g.line(ind + 1, f"if {res} is None:")
        g.issue(ind + 2, parts, "invalid_format", "invalid date")
        g.line(ind + 2, f"{bad} = True")
        g.line(ind + 1, "else:")
        g.line(ind + 2, out(res))

    def _json(self) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}


class AnySchema(Schema[Any]):
    """Anything, passed through unchanged (an absent key stays absent)."""

    kind = "any"
    presence = Presence.OPTIONAL

    def _fast_test(self, g: Gen, src: str) -> str | None:
        return "True"

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        g.line(ind, f"if {src} is not MISSING:")
        g.line(ind + 1, out(src))

    def _json(self) -> dict[str, Any]:
        return {}
