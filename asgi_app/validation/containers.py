"""Container kinds: object, array, tuple, record."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, Self, TypeVar

from .codegen import Gen, Out
from .schema import Presence, Schema

T = TypeVar("T")
_SEQUENCE = (list, tuple)


def _items(n: int) -> str:
    return f"{n} item{'' if n == 1 else 's'}"


def emit_field(
    g: Gen, field: Schema[Any], src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str
) -> None:
    """Validate a value that may be MISSING (object keys, tuple slots)."""
    if field.presence is not Presence.REQUIRED:
        field._emit(g, src, parts, ind, out, bad)
        return
    g.line(ind, f"if {src} is MISSING:")
    g.type_error(ind + 1, src, parts, "", bad)
    g.line(ind, "else:")
    field._emit(g, src, parts, ind + 1, out, bad)


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
        g.line(ind, f"if type({src}) is not dict and isinstance({src}, dict):")
        g.line(ind + 1, f"{src} = dict({src})")
        g.line(ind, f"if type({src}) is not dict:")
        g.type_error(ind + 1, src, parts, "object", bad)
        g.line(ind, "else:")
        if g.fast and self._emit_fast(g, src, parts, ind + 1, out, bad):
            return
        self._emit_fields(g, src, parts, ind + 1, out, bad)

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
            var = g.var("x")
            self._fetch(g, src, key, field, var, i)

            def to_key(expr: str, key: str = key) -> str:
                return f"{obj}[{key!r}] = {expr}"

            emit_field(g, field, var, (*parts, repr(key)), i, to_key, bad)
        self._emit_strict(g, src, parts, i, bad)
        g.line(i, out(obj))

    def _emit_strict(self, g: Gen, src: str, parts: tuple[str, ...], i: int, bad: str) -> None:
        if self.mode != "strict":
            return
        known, name = g.const(frozenset(self.shape), "keys"), g.var("key")
        g.line(i, f"if not {known}.issuperset({src}):")
        g.line(i + 1, f"for {name} in {src}:")
        g.line(i + 2, f"if {name} not in {known}:")
        g.issue(i + 3, (*parts, name), "unrecognized_keys", "unrecognized key")
        g.line(i + 3, f"{bad} = True")

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
            var = g.var("x")
            self._fetch(g, src, key, field, var, j)

            def to_key(expr: str, key: str = key) -> str:
                return f"{obj}[{key!r}] = {expr}"

            emit_field(g, field, var, (*parts, repr(key)), j, to_key, bad)
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


class ArraySchema(Schema[list[T]], Generic[T]):
    kind = "array"
    presence = Presence.CHECKED

    def __init__(self, item: Schema[T]) -> None:
        self.item = item
        self._min: tuple[int, str] | None = None
        self._max: tuple[int, str] | None = None

    def min(self, n: int, message: str | None = None) -> Self:
        clone = self._clone()
        clone._min = (n, message or f"must contain at least {_items(n)}")
        return clone

    def max(self, n: int, message: str | None = None) -> Self:
        clone = self._clone()
        clone._max = (n, message or f"must contain at most {_items(n)}")
        return clone

    def length(self, n: int, message: str | None = None) -> Self:
        text = message or f"must contain exactly {_items(n)}"
        return self.min(n, text).max(n, text)

    def nonempty(self, message: str = "must not be empty") -> Self:
        return self.min(1, message)

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        if g.too_deep(ind):
            g.call(self.validator(), src, parts, ind, out, bad)
            return
        g.line(ind, f"if not isinstance({src}, {g.const(_SEQUENCE, 'seq')}):")
        g.type_error(ind + 1, src, parts, "array", bad)
        g.line(ind, "else:")
        i = ind + 1
        if self._min is not None:
            g.line(i, f"if len({src}) < {self._min[0]!r}:")
            g.issue(i + 1, parts, "too_small", self._min[1])
        if self._max is not None:
            g.line(i, f"if len({src}) > {self._max[0]!r}:")
            g.issue(i + 1, parts, "too_big", self._max[1])
        elem = g.var("e")
        test = self.item._fast_test(g, elem)
        if test is None:
            self._emit_loop(g, src, parts, i, out, bad)
            return
        # Items whose output is the input: check them all first, copy the list in one go,
        # and only on the first failure run the item-by-item loop that reports issues.
        g.line(i, f"for {elem} in {src}:")
        g.line(i + 1, f"if not ({test}):")
        g.loops += 1
        self._emit_loop(g, src, parts, i + 2, out, bad)
        g.loops -= 1
        g.line(i + 2, "break")
        g.line(i, "else:")
        g.line(i + 1, out(f"list({src})"))

    def _emit_loop(
        self, g: Gen, src: str, parts: tuple[str, ...], i: int, out: Out, bad: str
    ) -> None:
        arr, append, index, elem = g.var("a"), g.var("ap"), g.var("i"), g.var("e")
        g.line(i, f"{arr} = []")
        g.line(i, f"{append} = {arr}.append")
        g.line(i, f"for {index}, {elem} in enumerate({src}):")
        g.loops += 1
        self.item._emit(g, elem, (*parts, index), i + 1, lambda expr: f"{append}({expr})", bad)
        g.loops -= 1
        g.line(i, out(arr))

    def _json(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "items": self.item._schema()}
        if self._min is not None:
            schema["minItems"] = self._min[0]
        if self._max is not None:
            schema["maxItems"] = self._max[0]
        return schema


class TupleSchema(Schema[tuple[Any, ...]]):
    """A fixed-length array (optionally followed by more items of `rest`), as a tuple."""

    kind = "tuple"
    presence = Presence.CHECKED

    def __init__(self, items: tuple[Schema[Any], ...], rest: Schema[Any] | None = None) -> None:
        self.items = items
        self.rest_schema = rest

    def rest(self, schema: Schema[Any]) -> Self:
        clone = self._clone()
        clone.rest_schema = schema
        return clone

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        if g.too_deep(ind):
            g.call(self.validator(), src, parts, ind, out, bad)
            return
        count = len(self.items)
        g.line(ind, f"if not isinstance({src}, {g.const(_SEQUENCE, 'seq')}):")
        g.type_error(ind + 1, src, parts, "array", bad)
        g.line(ind, f"elif len({src}) < {count}:")
        g.issue(ind + 1, parts, "too_small", f"must contain at least {_items(count)}")
        g.line(ind + 1, f"{bad} = True")
        if self.rest_schema is None:
            g.line(ind, f"elif len({src}) > {count}:")
            g.issue(ind + 1, parts, "too_big", f"must contain at most {_items(count)}")
            g.line(ind + 1, f"{bad} = True")
        g.line(ind, "else:")
        i = ind + 1
        arr, append = g.var("a"), g.var("ap")
        g.line(i, f"{arr} = []")
        g.line(i, f"{append} = {arr}.append")
        for position, item in enumerate(self.items):
            elem = g.var("e")
            g.line(i, f"{elem} = {src}[{position}]")
            item._emit(g, elem, (*parts, repr(position)), i, lambda e: f"{append}({e})", bad)
        if self.rest_schema is not None:
            index = g.var("i")
            elem = g.var("e")
            g.line(i, f"for {index} in range({count}, len({src})):")
            g.ns["range"] = range
            g.line(i + 1, f"{elem} = {src}[{index}]")
            g.loops += 1
            self.rest_schema._emit(g, elem, (*parts, index), i + 1, lambda e: f"{append}({e})", bad)
            g.loops -= 1
        g.line(i, out(f"tuple({arr})"))

    def _json(self) -> dict[str, Any]:
        schema: dict[str, Any] = {
            "type": "array",
            "prefixItems": [item._schema() for item in self.items],
            "minItems": len(self.items),
        }
        if self.rest_schema is None:
            schema["items"] = False
            schema["maxItems"] = len(self.items)
        else:
            schema["items"] = self.rest_schema._schema()
        return schema


class RecordSchema(Schema[dict[str, T]], Generic[T]):
    """A dict of arbitrary (validated) string keys to values of one schema."""

    kind = "record"
    presence = Presence.CHECKED

    def __init__(self, keys: Schema[str], values: Schema[T]) -> None:
        self.keys = keys
        self.values = values

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        if g.too_deep(ind):
            g.call(self.validator(), src, parts, ind, out, bad)
            return
        g.line(ind, f"if not isinstance({src}, dict):")
        g.type_error(ind + 1, src, parts, "object", bad)
        g.line(ind, "else:")
        i = ind + 1
        obj, key, new_key, elem = g.var("o"), g.var("k"), g.var("kk"), g.var("e")
        g.line(i, f"{obj} = {{}}")
        g.line(i, f"for {key}, {elem} in {src}.items():")
        g.line(i + 1, f"{new_key} = {key}")
        g.loops += 1
        self.keys._emit(g, key, (*parts, key), i + 1, lambda e: f"{new_key} = {e}", bad)
        self.values._emit(g, elem, (*parts, key), i + 1, lambda e: f"{obj}[{new_key}] = {e}", bad)
        g.loops -= 1
        g.line(i, out(obj))

    def _json(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "object", "additionalProperties": self.values._schema()}
        names = self.keys._schema()
        if names != {"type": "string"}:
            schema["propertyNames"] = names
        return schema
