"""Checks: each rule a string or number schema can carry, as one object (like Zod 4's
`$ZodCheckMinLength`...). A check knows its test (an expression the generated code inlines),
the issue it raises, and what it adds to the exported JSON Schema; the schema kinds only run
their checks in the order they were added."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

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

    @classmethod
    def of(cls, n: int, message: str | None) -> MinLength:
        return cls(message or f"must contain at least {_plural(n, 'character')}", n)

    def test(self, g: Gen, src: str) -> str:
        return f"len({src}) >= {self.n!r}"

    def json(self, schema: dict[str, Any]) -> None:
        tighten(schema, "minLength", self.n, max)


@dataclass(frozen=True, slots=True)
class MaxLength(Check):
    n: int = 0
    code: ClassVar[str] = "too_big"

    @classmethod
    def of(cls, n: int, message: str | None) -> MaxLength:
        return cls(message or f"must contain at most {_plural(n, 'character')}", n)

    def test(self, g: Gen, src: str) -> str:
        return f"len({src}) <= {self.n!r}"

    def json(self, schema: dict[str, Any]) -> None:
        tighten(schema, "maxLength", self.n, min)


@dataclass(frozen=True, slots=True)
class LengthEquals(Check):
    """Exactly n characters: too_small below, too_big above."""

    n: int = 0

    @classmethod
    def of(cls, n: int, message: str | None) -> LengthEquals:
        return cls(message or f"must contain exactly {_plural(n, 'character')}", n)

    def test(self, g: Gen, src: str) -> str:
        return f"len({src}) == {self.n!r}"

    def emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int) -> None:
        g.line(ind, f"if len({src}) < {self.n!r}:")
        g.issue(ind + 1, parts, "too_small", self.message)
        g.line(ind, f"elif len({src}) > {self.n!r}:")
        g.issue(ind + 1, parts, "too_big", self.message)

    def json(self, schema: dict[str, Any]) -> None:
        tighten(schema, "minLength", self.n, max)
        tighten(schema, "maxLength", self.n, min)


@dataclass(frozen=True, slots=True)
class Regex(Check):
    pattern: re.Pattern[str] = re.compile("")
    code: ClassVar[str] = "invalid_string"

    def test(self, g: Gen, src: str) -> str:
        return f"{g.const(self.pattern, 're')}.search({src}) is not None"

    def json(self, schema: dict[str, Any]) -> None:
        constrain(schema, "pattern", self.pattern.pattern)


@dataclass(frozen=True, slots=True)
class Url(Check):
    schemes: frozenset[str] | None = None
    code: ClassVar[str] = "invalid_string"

    def test(self, g: Gen, src: str) -> str:
        fn = g.const(formats.is_url, "is_url")
        return f"{fn}({src}, {g.const(self.schemes, 'schemes')})"

    def json(self, schema: dict[str, Any]) -> None:
        constrain(schema, "format", "uri")


@dataclass(frozen=True, slots=True)
class Email(Check):
    code: ClassVar[str] = "invalid_string"

    def test(self, g: Gen, src: str) -> str:
        return f"{g.const(formats.EMAIL, 'email')}.fullmatch({src}) is not None"

    def json(self, schema: dict[str, Any]) -> None:
        constrain(schema, "format", "email")


@dataclass(frozen=True, slots=True)
class DateTimeText(Check):
    code: ClassVar[str] = "invalid_string"

    def test(self, g: Gen, src: str) -> str:
        return f"{g.const(formats.is_datetime, 'is_dt')}({src})"

    def json(self, schema: dict[str, Any]) -> None:
        constrain(schema, "format", "date-time")


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

    def test(self, g: Gen, src: str) -> str:
        return f"not {src} {self.OPS[self.op][0]} {self.value!r}"

    def emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int) -> None:
        compare, code = self.OPS[self.op][:2]
        g.line(ind, f"if {src} {compare} {self.value!r}:")
        g.issue(ind + 1, parts, code, self.message)

    def json(self, schema: dict[str, Any]) -> None:
        keyword, pick = self.OPS[self.op][3:]
        tighten(schema, keyword, self.value, pick)


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
