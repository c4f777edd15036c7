"""The schemas around another one: optional, nullable, default, refine, super_refine,
transform, and lazy (recursion)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .codegen import Gen, Out, assign, path_expr
from .issues import Issue, Path, PathPart
from .schema import Presence, Schema

T = TypeVar("T")

_IMMUTABLE = (type(None), bool, int, float, str, bytes, tuple, frozenset)


class Wrapper(Schema[T]):
    """A schema around another one; presence passes through unless a subclass decides."""

    def __init__(self, inner: Schema[Any]) -> None:
        self.inner = inner
        self.presence = inner.presence

    def unwrap(self) -> Schema[Any]:
        return self.inner

    def _missing_test(self, src: str) -> str:
        return self.inner._missing_test(src)

    def _json(self) -> dict[str, Any]:
        return self.inner._schema()

    @property
    def stops_on_issues(self) -> bool:
        return self.inner.stops_on_issues

    def _run_inner(
        self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str
    ) -> tuple[str, int]:
        """Emit the inner schema into a local; a value it could not read sets `bad`. Returns
        the local and the indent of a block that runs when there is a value to work on
        (the block must hand a value to `out`). When the inner schema is a pipe or transform
        that stopped on an issue, the value it was given goes on unchanged and the block is
        skipped, as Zod skips the checks on an aborted pipe."""
        flag, res, count = g.var("b"), g.var("r"), g.var("n")
        stops = self.inner.stops_on_issues
        if stops:
            g.line(ind, f"{count} = len(issues)")
        g.line(ind, f"{flag} = False")
        g.line(ind, f"{res} = MISSING")
        self.inner._emit(g, src, parts, ind, assign(res), flag)
        g.line(ind, f"if {flag}:")
        g.line(ind + 1, f"{bad} = True")
        g.line(ind, f"elif {res} is not MISSING:")
        if not stops:
            return res, ind + 1
        g.ns["_stopped"] = stopped
        g.line(ind + 1, f"if len(issues) != {count} and _stopped(issues, {count}):")
        g.line(ind + 2, out(res))
        g.line(ind + 1, "else:")
        return res, ind + 2


def stopped(issues: list[Issue], start: int) -> bool:
    """Whether an issue since `start` stops a pipe (Zod: any but unrecognized_keys)."""
    return any(issue.code != "unrecognized_keys" for issue in issues[start:])


def json_value(value: object) -> tuple[bool, object]:
    """(True, the value as JSON) when it can be written as JSON, else (False, None)."""
    if value is None or isinstance(value, str | bool | int):
        return True, value
    if isinstance(value, float):
        return value - value == 0.0, value
    if isinstance(value, list | tuple):
        items = [json_value(item) for item in value]
        return all(ok for ok, _ in items), [item for _, item in items]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        fields = {key: json_value(item) for key, item in value.items()}
        return all(ok for ok, _ in fields.values()), {k: v for k, (_, v) in fields.items()}
    return False, None


class OptionalSchema(Wrapper[T]):
    kind = "optional"

    def __init__(self, inner: Schema[Any]) -> None:
        super().__init__(inner)
        self.presence = Presence.OPTIONAL

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        if self.inner.may_be_absent:  # default(x).optional(): the default fills, as in Zod 4
            self.inner._emit(g, src, parts, ind, out, bad)
            return
        g.line(ind, f"if not ({self.inner._missing_test(src)}):")
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
        self.presence = Presence.OPTIONAL
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
        g.line(ind, f"if {self.inner._missing_test(src)}:")
        g.line(ind + 1, out(expr))
        g.line(ind, "else:")
        self.inner._emit(g, src, parts, ind + 1, out, bad)

    def _json(self) -> dict[str, Any]:
        schema = self.inner._schema()
        ok, value = json_value(self.value) if self.factory is None else (False, None)
        return {**schema, "default": value} if ok else schema


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
        res, i = self._run_inner(g, src, parts, ind, out, bad)
        ok = g.var("ok")
        check = g.const(self.check, "check")
        g.line(i, "try:")
        g.line(i + 1, f"{ok} = {check}({res})")
        g.line(i, "except (ValueError, TypeError):")
        g.line(i + 1, f"{ok} = False")
        g.line(i, f"if not {ok}:")
        g.issue(i + 1, parts + tuple(repr(p) for p in self.path), self.code, self.message)
        if self.abort:
            g.line(i + 1, f"{bad} = True")
        g.line(i, out(res))


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
        res, i = self._run_inner(g, src, parts, ind, out, bad)
        g.ns["_super_refine"] = _run_super_refine
        check = g.const(self.check, "check")
        g.line(i, f"_super_refine({check}, {res}, {path_expr(parts)}, issues)")
        g.line(i, out(res))


class PipeSchema(Wrapper[T]):
    """`a.pipe(b)`: `b` validates what `a` outputs; any issue of `a` stops the pipe (its
    value goes on unchanged, and the checks on the pipe are skipped), as in Zod."""

    kind = "pipe"

    def __init__(self, inner: Schema[Any], then: Schema[Any]) -> None:
        super().__init__(inner)
        self.then = then

    @property
    def stops_on_issues(self) -> bool:
        return True

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        count = g.var("n")
        g.line(ind, f"{count} = len(issues)")
        res, i = self._run_inner(g, src, parts, ind, out, bad)
        g.ns["_stopped"] = stopped
        g.line(i, f"if len(issues) != {count} and _stopped(issues, {count}):")
        g.line(i + 1, out(res))
        g.line(i, "else:")
        self._emit_next(g, res, parts, i + 1, out, bad)

    def _emit_next(
        self, g: Gen, res: str, parts: tuple[str, ...], i: int, out: Out, bad: str
    ) -> None:
        self.then._emit(g, res, parts, i, out, bad)


class TransformSchema(PipeSchema[T]):
    """A pipe into a function; a ValueError/TypeError it raises is a custom issue."""

    kind = "transform"

    def __init__(self, inner: Schema[Any], fn: Callable[[Any], Any]) -> None:
        super().__init__(inner, inner)
        self.fn = fn

    def _emit_next(
        self, g: Gen, res: str, parts: tuple[str, ...], i: int, out: Out, bad: str
    ) -> None:
        new, fn = g.var("t"), g.const(self.fn, "transform")
        g.line(i, "try:")
        g.line(i + 1, f"{new} = {fn}({res})")
        g.line(i, "except (ValueError, TypeError):")
        g.issue(i + 1, parts, "custom", "invalid value")
        g.line(i + 1, f"{bad} = True")
        g.line(i, "else:")
        g.line(i + 1, out(new))


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
        g.call(self._call, src, parts, ind, out, bad)

    def _json(self) -> dict[str, Any]:
        # Recursive structures cannot be inlined; describe them loosely.
        return {}
