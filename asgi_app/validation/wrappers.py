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

    def _run_inner(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, bad: str) -> str:
        """Emit the inner schema into a local; a value it could not read sets `bad`. Opens
        an `elif` block (at `ind + 1`) that runs when there is a value to work on; returns
        the local that holds it."""
        flag, res = g.var("b"), g.var("r")
        g.line(ind, f"{flag} = False")
        g.line(ind, f"{res} = MISSING")
        self.inner._emit(g, src, parts, ind, assign(res), flag)
        g.line(ind, f"if {flag}:")
        g.line(ind + 1, f"{bad} = True")
        g.line(ind, f"elif {res} is not MISSING:")
        return res


class OptionalSchema(Wrapper[T]):
    kind = "optional"

    def __init__(self, inner: Schema[Any]) -> None:
        super().__init__(inner)
        self.presence = Presence.OPTIONAL

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
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
        res = self._run_inner(g, src, parts, ind, bad)
        ok = g.var("ok")
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
        res = self._run_inner(g, src, parts, ind, bad)
        g.ns["_super_refine"] = _run_super_refine
        check = g.const(self.check, "check")
        g.line(ind + 1, f"_super_refine({check}, {res}, {path_expr(parts)}, issues)")
        g.line(ind + 1, out(res))


class TransformSchema(Wrapper[T]):
    kind = "transform"

    def __init__(self, inner: Schema[Any], fn: Callable[[Any], Any]) -> None:
        super().__init__(inner)
        self.fn = fn

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        count, new = g.var("n"), g.var("t")
        g.line(ind, f"{count} = len(issues)")
        res = self._run_inner(g, src, parts, ind, bad)
        g.line(ind + 1, f"if len(issues) != {count}:")
        g.line(ind + 2, f"{bad} = True")
        g.line(ind + 1, "else:")
        fn = g.const(self.fn, "transform")
        g.line(ind + 2, "try:")
        g.line(ind + 3, f"{new} = {fn}({res})")
        g.line(ind + 2, "except (ValueError, TypeError):")
        g.issue(ind + 3, parts, "custom", "invalid value")
        g.line(ind + 3, f"{bad} = True")
        g.line(ind + 2, "else:")
        g.line(ind + 3, out(new))


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
