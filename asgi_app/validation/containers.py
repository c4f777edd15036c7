"""Container kinds other than object: array, tuple, record."""

from __future__ import annotations

from typing import Any, Generic, Self, TypeVar

from .checks import Check, ItemsEqual, MaxItems, MinItems
from .choices import EnumSchema
from .codegen import Gen, Out, Validator, path_expr
from .issues import INVALID, Issue, Path
from .objects import emit_field, emit_unknown_keys
from .scalars import StringSchema
from .schema import Presence, Schema

T = TypeVar("T")
_SEQUENCE = (list, tuple)


def _items(n: int) -> str:
    return f"{n} item{'' if n == 1 else 's'}"


class ArraySchema(Schema[list[T]], Generic[T]):
    kind = "array"
    presence = Presence.CHECKED

    def __init__(self, item: Schema[T]) -> None:
        self.item = item
        self._checks: tuple[Check, ...] = ()

    def _add(self, check: Check) -> Self:
        clone = self._clone()
        clone._checks = (*self._checks, check)
        return clone

    def min(self, n: int, message: str | None = None) -> Self:
        return self._add(MinItems.of(n, message))

    def max(self, n: int, message: str | None = None) -> Self:
        return self._add(MaxItems.of(n, message))

    def length(self, n: int, message: str | None = None) -> Self:
        return self._add(ItemsEqual.of(n, message))

    def nonempty(self, message: str = "must not be empty") -> Self:
        return self._add(MinItems(message, 1))

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        if g.too_deep(ind):
            g.call(self.validator(), src, parts, ind, out, bad)
            return
        g.line(ind, f"if not isinstance({src}, {g.const(_SEQUENCE, 'seq')}):")
        g.type_error(ind + 1, src, parts, "array", bad)
        g.line(ind, "else:")
        i = ind + 1
        elem = g.var("e")
        test = self.item._fast_test(g, elem)
        if test is None:
            self._emit_loop(g, src, parts, i, out, bad)
        else:
            self._emit_fast_loop(g, src, parts, i, out, bad, elem, test)
        for check in self._checks:  # after the items, as Zod reports them
            check.emit(g, src, parts, i)

    def _emit_fast_loop(
        self,
        g: Gen,
        src: str,
        parts: tuple[str, ...],
        i: int,
        out: Out,
        bad: str,
        elem: str,
        test: str,
    ) -> None:
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
        for check in self._checks:
            check.json(schema)
        return schema


class TupleSchema(Schema[tuple[Any, ...]]):
    """A fixed-length array, as a tuple. Trailing items that may be absent (optional,
    default) may be left out; `rest(schema)` allows more items of that schema."""

    kind = "tuple"
    presence = Presence.CHECKED

    def __init__(self, items: tuple[Schema[Any], ...], rest: Schema[Any] | None = None) -> None:
        self.items = items
        self.rest_schema = rest

    def rest(self, schema: Schema[Any]) -> Self:
        clone = self._clone()
        clone.rest_schema = schema
        return clone

    @property
    def required_count(self) -> int:
        """How many items must be there: up to the last one that may not be absent."""
        count = len(self.items)
        while count and self.items[count - 1].may_be_absent:
            count -= 1
        return count

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        if g.too_deep(ind):
            g.call(self.validator(), src, parts, ind, out, bad)
            return
        count, required = len(self.items), self.required_count
        g.line(ind, f"if not isinstance({src}, {g.const(_SEQUENCE, 'seq')}):")
        g.type_error(ind + 1, src, parts, "array", bad)
        if self.rest_schema is None:
            g.line(ind, f"elif len({src}) < {required}:")
            g.issue(ind + 1, parts, "too_small", f"must contain at least {_items(required)}")
            g.line(ind + 1, f"{bad} = True")
        g.line(ind, "else:")
        i = ind + 1
        if self.rest_schema is None:
            g.line(i, f"if len({src}) > {count}:")
            g.issue(i + 1, parts, "too_big", f"must contain at most {_items(count)}")
            g.line(i + 1, f"{bad} = True")
        arr, append = g.var("a"), g.var("ap")
        g.line(i, f"{arr} = []")
        g.line(i, f"{append} = {arr}.append")
        for position, item in enumerate(self.items):
            elem = g.var("e")
            if position < required and self.rest_schema is None:
                g.line(i, f"{elem} = {src}[{position}]")
            else:
                g.line(i, f"{elem} = {src}[{position}] if len({src}) > {position} else MISSING")
            path = (*parts, repr(position))
            emit_field(g, item, elem, path, i, lambda e: f"{append}({e})", bad)
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
            "minItems": self.required_count,
        }
        if self.rest_schema is None:
            schema["items"] = False
            schema["maxItems"] = len(self.items)
        else:
            schema["items"] = self.rest_schema._schema()
        return schema


def run_key(fn: Validator, key: object, path: Path, issues: list[Issue]) -> Any:
    """Validate a record key with its own issue list; a bad key is one invalid_key issue."""
    found: list[Issue] = []
    result = fn(key, path, found)
    if found:
        issues.append(Issue(path, "invalid_key", f"invalid key: {found[0].message}"))
        return INVALID
    return result


class RecordSchema(Schema[dict[str, T]], Generic[T]):
    """A dict of (validated) string keys to values of one schema. Keyed by an enum, every
    key of the enum is required and other keys are unrecognized_keys (one issue each)."""

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
        if isinstance(self.keys, EnumSchema):
            self._emit_enum_keys(g, self.keys.values, src, parts, ind + 1, out, bad)
            return
        i = ind + 1
        obj, key, new_key, elem = g.var("o"), g.var("k"), g.var("kk"), g.var("e")
        g.line(i, f"{obj} = {{}}")
        g.line(i, f"for {key}, {elem} in {src}.items():")
        g.loops += 1
        path = (*parts, key)
        if type(self.keys) is StringSchema and not self.keys._steps:
            g.line(i + 1, f"{new_key} = {key}")
        else:
            g.ns["_run_key"] = run_key
            fn = g.const(self.keys.validator(), "keys")
            g.line(i + 1, f"{new_key} = _run_key({fn}, {key}, {path_expr(path)}, issues)")
            g.line(i + 1, f"if {new_key} is INVALID:")
            g.line(i + 2, f"{bad} = True")
            g.line(i + 2, "continue")
        self.values._emit(g, elem, path, i + 1, lambda e: f"{obj}[{new_key}] = {e}", bad)
        g.loops -= 1
        g.line(i, out(obj))

    def _emit_enum_keys(
        self,
        g: Gen,
        keys: tuple[str, ...],
        src: str,
        parts: tuple[str, ...],
        i: int,
        out: Out,
        bad: str,
    ) -> None:
        obj = g.var("o")
        g.line(i, f"{obj} = {{}}")
        for key in keys:
            var = g.var("x")
            g.line(i, f"{var} = {src}.get({key!r}, MISSING)")

            def to_key(expr: str, key: str = key) -> str:
                return f"{obj}[{key!r}] = {expr}"

            emit_field(g, self.values, var, (*parts, repr(key)), i, to_key, bad)
        emit_unknown_keys(g, frozenset(keys), src, parts, i)
        g.line(i, out(obj))

    def _json(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "object", "additionalProperties": self.values._schema()}
        if isinstance(self.keys, EnumSchema):
            values = self.values._schema()
            schema["properties"] = {key: values for key in self.keys.values}
            schema["additionalProperties"] = False
            if not self.values.may_be_absent:
                schema["required"] = list(self.keys.values)
            return schema
        names = self.keys._schema()
        if names != {"type": "string"}:
            schema["propertyNames"] = names
        return schema
