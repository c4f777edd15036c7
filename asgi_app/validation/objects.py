"""object: known keys, each validated; unknown keys stripped, reported or kept."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from .codegen import Gen, Out
from .schema import Presence, Schema


def emit_field(
    g: Gen, field: Schema[Any], src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str
) -> None:
    """Validate a value that may be MISSING (object keys, tuple slots, enum record keys)."""
    if field.presence is not Presence.REQUIRED:
        field._emit(g, src, parts, ind, out, bad)
        return
    g.line(ind, f"if {src} is MISSING:")
    g.type_error(ind + 1, src, parts, "", bad)
    g.line(ind, "else:")
    field._emit(g, src, parts, ind + 1, out, bad)


def emit_unknown_keys(
    g: Gen, known: frozenset[str], src: str, parts: tuple[str, ...], i: int
) -> None:
    """One unrecognized_keys issue per key of `src` outside `known`, at that key's path
    (it does not abort: refinements above still run, as in Zod)."""
    keys, name = g.const(known, "keys"), g.var("key")
    g.line(i, f"if not {keys}.issuperset({src}):")
    g.line(i + 1, f"for {name} in {src}:")
    g.line(i + 2, f"if {name} not in {keys}:")
    g.issue(i + 3, (*parts, name), "unrecognized_keys", "unrecognized key")


class ObjectSchema(Schema[dict[str, Any]]):
    """A dict with known keys. Unknown keys are dropped (strip, the default), reported
    (`strict()`, code unrecognized_keys) or kept (`passthrough()`)."""

    kind = "object"
    presence = Presence.CHECKED

    def __init__(self, shape: Mapping[str, Schema[Any]], mode: str = "strip") -> None:
        self.shape: dict[str, Schema[Any]] = dict(shape)
        self.mode = mode

    def _with(
        self, shape: Mapping[str, Schema[Any]] | None = None, mode: str | None = None
    ) -> Self:
        clone = self._clone()
        if shape is not None:
            clone.shape = dict(shape)
        if mode is not None:
            clone.mode = mode
        return clone

    def strict(self) -> Self:
        return self._with(mode="strict")

    def passthrough(self) -> Self:
        return self._with(mode="passthrough")

    def strip(self) -> Self:
        return self._with(mode="strip")

    def extend(self, shape: Mapping[str, Schema[Any]]) -> Self:
        return self._with(shape={**self.shape, **shape})

    def pick(self, *keys: str) -> Self:
        return self._with(shape={k: s for k, s in self.shape.items() if k in keys})

    def omit(self, *keys: str) -> Self:
        return self._with(shape={k: s for k, s in self.shape.items() if k not in keys})

    def partial(self) -> Self:
        return self._with(
            shape={k: s if s.may_be_absent else s.optional() for k, s in self.shape.items()}
        )

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        if g.too_deep(ind):
            g.call(self.validator(), src, parts, ind, out, bad)
            return
        # Subscripting is the fastest lookup, but a dict subclass (defaultdict) could answer
        # a missing key itself: such input is copied into a plain dict first.
        # (One type() call on the usual path: a plain dict.)
        obj = g.var("d")
        g.line(
            ind,
            f"{obj} = {src} if type({src}) is dict else "
            f"(dict({src}) if isinstance({src}, dict) else None)",
        )
        g.line(ind, f"if {obj} is None:")
        g.type_error(ind + 1, src, parts, "object", bad)
        g.line(ind, "else:")
        if g.fast and self._emit_fast(g, obj, parts, ind + 1, out, bad):
            return
        self._emit_fields(g, obj, parts, ind + 1, out, bad)

    def _fetch(self, g: Gen, src: str, key: str, field: Schema[Any], var: str, i: int) -> None:
        if field.may_be_absent:
            g.line(i, f"{var} = {src}[{key!r}] if {key!r} in {src} else MISSING")
        else:  # a missing required key is an error: the error path may be slow
            g.line(i, "try:")
            g.line(i + 1, f"{var} = {src}[{key!r}]")
            g.line(i, "except KeyError:")
            g.line(i + 1, f"{var} = MISSING")

    def _emit_fields(
        self, g: Gen, src: str, parts: tuple[str, ...], i: int, out: Out, bad: str
    ) -> None:
        """The general path: field by field, every issue reported."""
        obj = g.var("o")
        g.line(i, f"{obj} = dict({src})" if self.mode == "passthrough" else f"{obj} = {{}}")
        for key, field in self.shape.items():
            self._emit_key(g, src, obj, key, field, parts, i, bad)
        self._emit_strict(g, src, parts, i, bad)
        g.line(i, out(obj))

    def _emit_key(
        self,
        g: Gen,
        src: str,
        obj: str,
        key: str,
        field: Schema[Any],
        parts: tuple[str, ...],
        i: int,
        bad: str,
    ) -> None:
        """Fetch one key of `src`, validate it, store the result in the output dict `obj`."""
        var = g.var("x")
        self._fetch(g, src, key, field, var, i)
        emit_field(g, field, var, (*parts, repr(key)), i, lambda e: f"{obj}[{key!r}] = {e}", bad)

    def _emit_strict(self, g: Gen, src: str, parts: tuple[str, ...], i: int, bad: str) -> None:
        if self.mode == "strict":
            emit_unknown_keys(g, frozenset(self.shape), src, parts, i)

    def _emit_fast(
        self, g: Gen, src: str, parts: tuple[str, ...], i: int, out: Out, bad: str
    ) -> bool:
        """The speculative path: fetch every required scalar field in one try block, test
        them in one condition, build them into one dict display (the output lists them first,
        then the other fields in shape order). Any failure of a tested field falls back
        to `_emit_fields`, which reports the issues (emitted once, without fast paths below
        it, so the generated code stays linear in the schema's size)."""
        variables = {key: g.var("v") for key in self.shape}
        tests: dict[str, str] = {}
        for key, field in self.shape.items():
            if not field.may_be_absent:
                test = field._fast_test(g, variables[key])
                if test is not None:
                    tests[key] = test
        if not tests:
            return False
        slow = g.var("slow")
        g.line(i, f"{slow} = False")
        g.line(i, "try:")
        for key in tests:
            g.line(i + 1, f"{variables[key]} = {src}[{key!r}]")
        g.line(i, "except KeyError:")
        g.line(i + 1, f"{slow} = True")
        g.line(i, "else:")
        g.line(i + 1, "if " + " and ".join(f"({test})" for test in tests.values()) + ":")
        j = i + 2
        obj = g.var("o")
        if self.mode == "passthrough":
            g.line(j, f"{obj} = dict({src})")
        else:
            items = ", ".join(f"{key!r}: {variables[key]}" for key in tests)
            g.line(j, f"{obj} = {{{items}}}")
        # Fields without a test (objects, arrays, optional ones...) run as usual, in shape
        # order; they report their own issues (the fallback is not taken, so never twice).
        for key, field in self.shape.items():
            if key in tests:
                continue
            self._emit_key(g, src, obj, key, field, parts, j, bad)
        self._emit_strict(g, src, parts, j, bad)
        g.line(j, out(obj))
        g.line(i + 1, "else:")
        g.line(i + 2, f"{slow} = True")
        g.line(i, f"if {slow}:")
        g.fast = False
        try:
            self._emit_fields(g, src, parts, i + 1, out, bad)
        finally:
            g.fast = True
        return True

    def _json(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {key: field._schema() for key, field in self.shape.items()},
        }
        required = [key for key, field in self.shape.items() if not field.may_be_absent]
        if required:
            schema["required"] = required
        if self.mode == "strict":
            schema["additionalProperties"] = False
        return schema
