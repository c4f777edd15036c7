"""Checks: each rule a string or number schema can carry, as one object (like Zod 4's
`$ZodCheckMinLength`...). A check knows its test (an expression the generated code inlines),
the issue it raises, and what it adds to the exported JSON Schema; the schema kinds only run
their checks in the order they were added."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from . import formats
from .codegen import Gen


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def tighten(schema: dict[str, Any], key: str, value: Any, pick: Callable[..., Any]) -> None:
    """Set a bound keyword, keeping the tighter of two (`pick` is min or max)."""
    schema[key] = pick(schema[key], value) if key in schema else value


def constrain(schema: dict[str, Any], key: str, value: Any) -> None:
    """Set a keyword that cannot be merged; a second one goes into `allOf` (both apply)."""
    if key not in schema:
        schema[key] = value
    elif schema[key] != value:
        schema.setdefault("allOf", []).append({key: value})


@dataclass(frozen=True, slots=True)
class Check:
    """One rule on an already type-checked value `src`."""

    message: str
    code: ClassVar[str] = "custom"

    def test(self, g: Gen, src: str) -> str:
        """An expression that is true when `src` passes."""
        raise NotImplementedError

    def emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int) -> None:
        g.line(ind, f"if not ({self.test(g, src)}):")
        g.issue(ind + 1, parts, self.code, self.message)

    def json(self, schema: dict[str, Any]) -> None:
        """Add this rule to the exported JSON Schema (never looser than the test)."""
        raise NotImplementedError


# -- strings -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MinLength(Check):
    n: int = 0
    code: ClassVar[str] = "too_small"
    unit: ClassVar[str] = "character"
    keyword: ClassVar[str] = "minLength"

    @classmethod
    def of(cls, n: int, message: str | None) -> Self:
        return cls(message or f"must contain at least {_plural(n, cls.unit)}", n)

    def test(self, g: Gen, src: str) -> str:
        return f"len({src}) >= {self.n!r}"

    def json(self, schema: dict[str, Any]) -> None:
        tighten(schema, self.keyword, self.n, max)


@dataclass(frozen=True, slots=True)
class MaxLength(Check):
    n: int = 0
    code: ClassVar[str] = "too_big"
    unit: ClassVar[str] = "character"
    keyword: ClassVar[str] = "maxLength"

    @classmethod
    def of(cls, n: int, message: str | None) -> Self:
        return cls(message or f"must contain at most {_plural(n, cls.unit)}", n)

    def test(self, g: Gen, src: str) -> str:
        return f"len({src}) <= {self.n!r}"

    def json(self, schema: dict[str, Any]) -> None:
        tighten(schema, self.keyword, self.n, min)


@dataclass(frozen=True, slots=True)
class LengthEquals(Check):
    """Exactly n characters: too_small below, too_big above."""

    n: int = 0
    unit: ClassVar[str] = "character"
    keywords: ClassVar[tuple[str, str]] = ("minLength", "maxLength")

    @classmethod
    def of(cls, n: int, message: str | None) -> Self:
        return cls(message or f"must contain exactly {_plural(n, cls.unit)}", n)

    def test(self, g: Gen, src: str) -> str:
        return f"len({src}) == {self.n!r}"

    def emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int) -> None:
        g.line(ind, f"if len({src}) < {self.n!r}:")
        g.issue(ind + 1, parts, "too_small", self.message)
        g.line(ind, f"elif len({src}) > {self.n!r}:")
        g.issue(ind + 1, parts, "too_big", self.message)

    def json(self, schema: dict[str, Any]) -> None:
        tighten(schema, self.keywords[0], self.n, max)
        tighten(schema, self.keywords[1], self.n, min)


@dataclass(frozen=True, slots=True)
class MinItems(MinLength):
    unit: ClassVar[str] = "item"
    keyword: ClassVar[str] = "minItems"


@dataclass(frozen=True, slots=True)
class MaxItems(MaxLength):
    unit: ClassVar[str] = "item"
    keyword: ClassVar[str] = "maxItems"


@dataclass(frozen=True, slots=True)
class ItemsEqual(LengthEquals):
    unit: ClassVar[str] = "item"
    keywords: ClassVar[tuple[str, str]] = ("minItems", "maxItems")


@dataclass(frozen=True, slots=True)
class Regex(Check):
    pattern: re.Pattern[str] = re.compile("")
    code: ClassVar[str] = "invalid_format"

    def test(self, g: Gen, src: str) -> str:
        return f"{g.const(self.pattern, 're')}.search({src}) is not None"

    def json(self, schema: dict[str, Any]) -> None:
        constrain(schema, "pattern", self.pattern.pattern)


@dataclass(frozen=True, slots=True)
class Url(Check):
    schemes: frozenset[str] | None = None
    code: ClassVar[str] = "invalid_format"

    def test(self, g: Gen, src: str) -> str:
        fn = g.const(formats.is_url, "is_url")
        return f"{fn}({src}, {g.const(self.schemes, 'schemes')})"

    def json(self, schema: dict[str, Any]) -> None:
        constrain(schema, "format", "uri")


@dataclass(frozen=True, slots=True)
class Email(Check):
    """Zod 4's `z.email()` pattern (formats.EMAIL)."""

    code: ClassVar[str] = "invalid_format"

    def test(self, g: Gen, src: str) -> str:
        return f"{g.const(formats.EMAIL, 'email')}.fullmatch({src}) is not None"

    def json(self, schema: dict[str, Any]) -> None:
        constrain(schema, "format", "email")
        constrain(schema, "pattern", f"^{formats.EMAIL.pattern}$")


_Z_ONLY = formats.datetime_pattern(False, False, None)


@dataclass(frozen=True, slots=True)
class DateTimeText(Check):
    """Zod 4's `z.iso.datetime()`: "Z" only by default; `offset` allows +hh:mm, `local`
    allows no zone at all, `precision` fixes the digits of the seconds' fraction."""

    pattern: re.Pattern[str] = _Z_ONLY
    local: bool = False
    code: ClassVar[str] = "invalid_format"

    def test(self, g: Gen, src: str) -> str:
        return f"{g.const(self.pattern, 'dt')}.fullmatch({src}) is not None"

    def json(self, schema: dict[str, Any]) -> None:
        if not self.local:  # RFC 3339 date-times always carry a zone
            constrain(schema, "format", "date-time")
        constrain(schema, "pattern", f"^(?:{self.pattern.pattern})$")


@dataclass(frozen=True, slots=True)
class Trim:
    """Not a check but a step: the checks after it see the stripped text (and so does the
    output), like Zod's `.trim()` overwrite."""

    def emit(self, g: Gen, src: str, ind: int) -> str:
        trimmed = g.var("s")
        g.line(ind, f"{trimmed} = {src}.strip()")
        return trimmed


StringStep = Check | Trim


# -- numbers -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bound(Check):
    """gte / gt / lte / lt against a number."""

    op: str = "gte"
    value: float = 0

    #: op -> (failing comparison, code, default message, JSON Schema keyword, tighter of two)
    OPS: ClassVar[dict[str, tuple[str, str, str, str, Callable[..., Any]]]] = {
        "gte": ("<", "too_small", "must be at least {}", "minimum", max),
        "gt": ("<=", "too_small", "must be greater than {}", "exclusiveMinimum", max),
        "lte": (">", "too_big", "must be at most {}", "maximum", min),
        "lt": (">=", "too_big", "must be less than {}", "exclusiveMaximum", min),
    }

    @classmethod
    def of(cls, op: str, value: float, message: str | None) -> Bound:
        return cls(message or cls.OPS[op][2].format(repr(value)), op, value)

    def _literal(self, g: Gen) -> str:
        finite = isinstance(self.value, int) or self.value - self.value == 0
        return repr(self.value) if finite else g.const(self.value, "bound")  # inf has no literal

    def test(self, g: Gen, src: str) -> str:
        return f"not {src} {self.OPS[self.op][0]} {self._literal(g)}"

    def emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int) -> None:
        compare, code = self.OPS[self.op][:2]
        g.line(ind, f"if {src} {compare} {self._literal(g)}:")
        g.issue(ind + 1, parts, code, self.message)

    def json(self, schema: dict[str, Any]) -> None:
        keyword, pick = self.OPS[self.op][3:]
        tighten(schema, keyword, self.value, pick)


@dataclass(frozen=True, slots=True)
class SafeInteger(Check):
    """int()'s own range, ±(2**53 - 1) as Zod's `z.int()`: too_big / too_small beyond it
    (not exported to JSON Schema: see README, differences)."""

    low: bool = True  # False when a check the user added already bounds that side
    high: bool = True

    def test(self, g: Gen, src: str) -> str:
        limit = formats.MAX_SAFE_INTEGER
        if self.low and self.high:
            return f"{-limit} <= {src} <= {limit}"
        return f"{src} <= {limit}" if self.high else f"{src} >= {-limit}" if self.low else "True"

    def emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int) -> None:
        if not (self.low or self.high):
            return
        g.line(ind, f"if not ({self.test(g, src)}):")
        if self.low and self.high:
            g.line(ind + 1, f"if {src} > 0:")
            g.issue(ind + 2, parts, "too_big", self.message)
            g.line(ind + 1, "else:")
            g.issue(ind + 2, parts, "too_small", self.message)
        else:
            g.issue(ind + 1, parts, "too_big" if self.high else "too_small", self.message)

    def json(self, schema: dict[str, Any]) -> None:
        pass


@dataclass(frozen=True, slots=True)
class MultipleOf(Check):
    step: float = 1
    code: ClassVar[str] = "not_multiple_of"

    @classmethod
    def of(cls, step: float, message: str | None) -> MultipleOf:
        if step <= 0:
            raise ValueError("multiple_of needs a positive number")
        return cls(message or f"must be a multiple of {step!r}", step)

    def test(self, g: Gen, src: str) -> str:
        return f"{src} % {self.step!r} == 0"

    def json(self, schema: dict[str, Any]) -> None:
        constrain(schema, "multipleOf", self.step)
