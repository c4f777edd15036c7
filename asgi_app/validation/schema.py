"""`Schema[T]`, the base of every kind, and the wrappers every schema offers as methods:
optional, nullable, default, refine, super_refine, transform, describe."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, Self, TypeVar

from .codegen import Gen, Out, Validator, assign, build, path_expr
from .issues import INVALID, MISSING, Issue, ParseResult, Path, PathPart, ValidationError

T = TypeVar("T")
U = TypeVar("U")

DIALECT = "https://json-schema.org/draft/2020-12/schema"
_IMMUTABLE = (type(None), bool, int, float, str, bytes, tuple, frozenset)


class Schema(Generic[T]):
    """A compiled-on-first-use validator that turns untrusted input into a `T`.

    Schemas are immutable: every method returns a new schema.
    """

    kind: ClassVar[str] = "schema"
    #: The value may be absent (optional, default): an object key may be missing.
    accepts_missing: bool = False
    #: The generated code itself reports a missing value as "required".
    rejects_missing: bool = False
    #: Coercion: an empty (or blank) string counts as a missing value.
    empty_is_missing: bool = False

    _description: str | None = None
    _fn: Validator | None = None

    # -- what every kind implements -------------------------------------------------------
    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        raise NotImplementedError

    def _json(self) -> dict[str, Any]:
        raise NotImplementedError

    def _fast_test(self, g: Gen, src: str) -> str | None:
        """An expression true exactly when `src` is valid and its output is `src` itself
        (lets arrays of such items skip building a new list item by item); None if the
        kind has no such test."""
        return None

    # -- public API -------------------------------------------------------------------------
    def validator(self) -> Validator:
        """The compiled function `(value, path, issues) -> value | INVALID` (built once)."""
        fn = self._fn
        if fn is None:
            fn = self._fn = build(self._emit, self.kind)
        return fn

    def parse(self, value: object) -> T:
        """Return the validated (and stripped/transformed) value or raise ValidationError."""
        issues: list[Issue] = []
        result = (self._fn or self.validator())(value, (), issues)
        if issues:
            raise ValidationError(issues)
        out: T = result
        return out

    def safe_parse(self, value: object) -> ParseResult[T]:
        issues: list[Issue] = []
        result = (self._fn or self.validator())(value, (), issues)
        if issues:
            return ParseResult(False, None, ValidationError(issues))
        return ParseResult(True, result, None)

    def json_schema(self, *, root: bool = True) -> dict[str, Any]:
        """A JSON Schema (draft 2020-12) describing the accepted input."""
        schema = self._schema()
        return {"$schema": DIALECT, **schema} if root else schema

    def _schema(self) -> dict[str, Any]:
        schema = self._json()
        if self._description is not None:
            schema = {**schema, "description": self._description}
        return schema

    def describe(self, text: str) -> Self:
        clone = self._clone()
        clone._description = text
        return clone

    def _clone(self) -> Self:
        clone = copy.copy(self)
        clone._fn = None
        return clone

    def optional(self) -> Schema[T | None]:
        """The object key may be absent (it is then left out of the output)."""
        return OptionalSchema(self)

    def nullable(self) -> Schema[T | None]:
        return NullableSchema(self)

    def default(self, value: T) -> Schema[T]:
        """Use `value` when the key is absent (mutable values are deep-copied per use)."""
        return DefaultSchema(self, value, None)

    def default_factory(self, factory: Callable[[], T]) -> Schema[T]:
        return DefaultSchema(self, None, factory)

    def refine(
        self,
        check: Callable[[T], bool],
        message: str = "invalid value",
        *,
        path: Sequence[PathPart] = (),
        code: str = "custom",
        abort: bool = False,
    ) -> Schema[T]:
        """Add a check; when it returns false (or raises ValueError/TypeError) an issue is
        reported at this schema's path plus `path`. Runs only when the inner value could be
        read (type errors abort, range errors do not), so cross-field checks on objects still
        report alongside field issues."""
        return RefineSchema(self, check, message, tuple(path), code, abort)

    def super_refine(self, check: Callable[[T, Reporter], None]) -> Schema[T]:
        """Like refine, but `check(value, report)` may report any number of issues with
        `report.add(message, path=(...), code="custom")`."""
        return SuperRefineSchema(self, check)

    def transform(self, fn: Callable[[T], U]) -> Schema[U]:
        """Map the valid value; a ValueError/TypeError from `fn` becomes a custom issue."""
        return TransformSchema(self, fn)


def missing_test(schema: Schema[Any], src: str) -> str:
    """Expression that is true when `src` counts as absent for `schema`."""
    if schema.empty_is_missing:
        return f"{src} is MISSING or (isinstance({src}, str) and not {src}.strip())"
    return f"{src} is MISSING"


class Wrapper(Schema[T]):
    """A schema around another one; flags pass through unless a subclass decides."""

    def __init__(self, inner: Schema[Any]) -> None:
        self.inner = inner
        self.accepts_missing = inner.accepts_missing
        self.rejects_missing = inner.rejects_missing
        self.empty_is_missing = inner.empty_is_missing

    def unwrap(self) -> Schema[Any]:
        return self.inner

    def _json(self) -> dict[str, Any]:
        return self.inner._schema()


class OptionalSchema(Wrapper[T]):
    kind = "optional"

    def __init__(self, inner: Schema[Any]) -> None:
        super().__init__(inner)
        self.accepts_missing = True

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        g.line(ind, f"if not ({missing_test(self.inner, src)}):")
        self.inner._emit(g, src, parts, ind + 1, out, bad)


class NullableSchema(Wrapper[T]):
    kind = "nullable"

    def _fast_test(self, g: Gen, src: str) -> str | None:
        inner = self.inner._fast_test(g, src)
        return None if inner is None else f"({src} is None or ({inner}))"

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        g.line(ind, f"if {src} is None:")
        g.line(ind + 1, out("None"))
        g.line(ind, "else:")
        self.inner._emit(g, src, parts, ind + 1, out, bad)

    def _json(self) -> dict[str, Any]:
        return {"anyOf": [self.inner._schema(), {"type": "null"}]}


class DefaultSchema(Wrapper[T]):
    kind = "default"

    def __init__(
        self, inner: Schema[Any], value: object, factory: Callable[[], Any] | None
    ) -> None:
        super().__init__(inner)
        self.accepts_missing = True
        self.value = value
        self.factory = factory

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        if self.factory is not None:
            expr = f"{g.const(self.factory, 'factory')}()"
        elif isinstance(self.value, _IMMUTABLE):
            expr = g.const(self.value, "default")
        else:
            g.ns["_deepcopy"] = copy.deepcopy
            expr = f"_deepcopy({g.const(self.value, 'default')})"
        g.line(ind, f"if {missing_test(self.inner, src)}:")
        g.line(ind + 1, out(expr))
        g.line(ind, "else:")
        self.inner._emit(g, src, parts, ind + 1, out, bad)

    def _json(self) -> dict[str, Any]:
        schema = self.inner._schema()
        if self.factory is None and isinstance(self.value, str | int | float | bool | None):
            schema = {**schema, "default": self.value}
        return schema


class RefineSchema(Wrapper[T]):
    kind = "refine"

    def __init__(
        self,
        inner: Schema[Any],
        check: Callable[[Any], bool],
        message: str,
        path: Path,
        code: str,
        abort: bool,
    ) -> None:
        super().__init__(inner)
        self.check = check
        self.message = message
        self.path = path
        self.code = code
        self.abort = abort

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        flag, res, ok = g.var("b"), g.var("r"), g.var("ok")
        g.line(ind, f"{flag} = False")
        g.line(ind, f"{res} = MISSING")
        self.inner._emit(g, src, parts, ind, assign(res), flag)
        g.line(ind, f"if {flag}:")
        g.line(ind + 1, f"{bad} = True")
        g.line(ind, f"elif {res} is not MISSING:")
        check = g.const(self.check, "check")
        g.line(ind + 1, "try:")
        g.line(ind + 2, f"{ok} = {check}({res})")
        g.line(ind + 1, "except (ValueError, TypeError):")
        g.line(ind + 2, f"{ok} = False")
        g.line(ind + 1, f"if not {ok}:")
        g.issue(ind + 2, parts + tuple(repr(p) for p in self.path), self.code, self.message)
        if self.abort:
            g.line(ind + 2, f"{bad} = True")
        g.line(ind + 1, out(res))


class Reporter:
    """Handed to `super_refine` checks: `add(message, path=(), code="custom")`."""

    __slots__ = ("_issues", "_path")

    def __init__(self, path: Path, issues: list[Issue]) -> None:
        self._path = path
        self._issues = issues

    def add(self, message: str, path: Sequence[PathPart] = (), code: str = "custom") -> None:
        self._issues.append(Issue(self._path + tuple(path), code, message))


def _run_super_refine(
    check: Callable[[Any, Reporter], None], value: object, path: Path, issues: list[Issue]
) -> None:
    try:
        check(value, Reporter(path, issues))
    except (ValueError, TypeError):
        issues.append(Issue(path, "custom", "invalid value"))


class SuperRefineSchema(Wrapper[T]):
    kind = "super_refine"

    def __init__(self, inner: Schema[Any], check: Callable[[Any, Reporter], None]) -> None:
        super().__init__(inner)
        self.check = check

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        flag, res = g.var("b"), g.var("r")
        g.ns["_super_refine"] = _run_super_refine
        g.line(ind, f"{flag} = False")
        g.line(ind, f"{res} = MISSING")
        self.inner._emit(g, src, parts, ind, assign(res), flag)
        g.line(ind, f"if {flag}:")
        g.line(ind + 1, f"{bad} = True")
        g.line(ind, f"elif {res} is not MISSING:")
        check = g.const(self.check, "check")
        g.line(ind + 1, f"_super_refine({check}, {res}, {path_expr(parts)}, issues)")
        g.line(ind + 1, out(res))


class TransformSchema(Wrapper[T]):
    kind = "transform"

    def __init__(self, inner: Schema[Any], fn: Callable[[Any], Any]) -> None:
        super().__init__(inner)
        self.fn = fn

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        flag, res, count, new = g.var("b"), g.var("r"), g.var("n"), g.var("t")
        g.line(ind, f"{flag} = False")
        g.line(ind, f"{res} = MISSING")
        g.line(ind, f"{count} = len(issues)")
        self.inner._emit(g, src, parts, ind, assign(res), flag)
        g.line(ind, f"if {flag} or len(issues) != {count}:")
        g.line(ind + 1, f"{bad} = True")
        g.line(ind, f"elif {res} is not MISSING:")
        fn = g.const(self.fn, "transform")
        g.line(ind + 1, "try:")
        g.line(ind + 2, f"{new} = {fn}({res})")
        g.line(ind + 1, "except (ValueError, TypeError):")
        g.issue(ind + 2, parts, "custom", "invalid value")
        g.line(ind + 2, f"{bad} = True")
        g.line(ind + 1, "else:")
        g.line(ind + 2, out(new))


class LazySchema(Schema[T]):
    """A schema resolved on first use, for recursive structures."""

    kind = "lazy"

    def __init__(self, getter: Callable[[], Schema[T]]) -> None:
        self._getter = getter
        self._target: Schema[T] | None = None

    def target(self) -> Schema[T]:
        if self._target is None:
            self._target = self._getter()
        return self._target

    def _call(self, value: object, path: Path, issues: list[Issue]) -> Any:
        return self.target().validator()(value, path, issues)

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        res = g.var("r")
        g.line(ind, f"{res} = {g.const(self._call, 'lazy')}({src}, {path_expr(parts)}, issues)")
        g.line(ind, f"if {res} is INVALID:")
        g.line(ind + 1, f"{bad} = True")
        g.line(ind, "else:")
        g.line(ind + 1, out(res))

    def _json(self) -> dict[str, Any]:
        # Recursive structures cannot be inlined; describe them loosely.
        return {}


__all__ = [
    "INVALID",
    "MISSING",
    "DefaultSchema",
    "LazySchema",
    "NullableSchema",
    "OptionalSchema",
    "RefineSchema",
    "Reporter",
    "Schema",
    "SuperRefineSchema",
    "TransformSchema",
    "missing_test",
]
