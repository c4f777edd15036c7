"""union (first option that accepts the value) and discriminated_union (chosen by a key)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from .choices import EnumSchema, LiteralSchema
from .codegen import Gen, Out, Validator, path_expr
from .issues import INVALID, MISSING, Issue, Path
from .objects import ObjectSchema
from .schema import Presence, Schema
from .wrappers import Wrapper


def run_union(fns: tuple[Validator, ...], value: object, path: Path, issues: list[Issue]) -> Any:
    """Try each option with its own issue list; the first clean result wins. When none is
    clean and exactly one option could read the value (its issues are range or format
    issues, not a wrong type), that option's issues and value are the result, as in Zod;
    otherwise a single invalid_union issue."""
    if value is MISSING:
        issues.append(Issue(path, "invalid_union", "required"))
        return INVALID
    readable: list[tuple[Any, list[Issue]]] = []
    for fn in fns:
        found: list[Issue] = []
        result = fn(value, path, found)
        if not found:
            return result
        if result is not INVALID:
            readable.append((result, found))
    if len(readable) == 1:
        result, found = readable[0]
        issues.extend(found)
        return result
    issues.append(Issue(path, "invalid_union", "does not match any of the allowed types"))
    return INVALID


class UnionSchema(Schema[Any]):
    kind = "union"
    presence = Presence.CHECKED

    def __init__(self, options: Sequence[Schema[Any]]) -> None:
        if not options:
            raise ValueError("union() needs at least one option")
        self.options = tuple(options)

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        fns = g.const(tuple(option.validator() for option in self.options), "options")
        g.ns["_union"] = run_union
        g.result(ind, f"_union({fns}, {src}, {path_expr(parts)}, issues)", out, bad)

    def _json(self) -> dict[str, Any]:
        return {"anyOf": [option._schema() for option in self.options]}


def _discriminator_values(option: Schema[Any], key: str) -> list[object]:
    while isinstance(option, Wrapper):
        option = option.inner
    if not isinstance(option, ObjectSchema) or key not in option.shape:
        raise ValueError(f"every discriminated_union option must be an object with {key!r}")
    field = option.shape[key]
    if isinstance(field, LiteralSchema):
        return [field.value]
    if isinstance(field, EnumSchema):
        return list(field.values)
    raise ValueError(f"the {key!r} field of each option must be a literal or an enum")


class DiscriminatedUnionSchema(Schema[dict[str, Any]]):
    """Objects told apart by the literal value of one key: one lookup, one option run."""

    kind = "discriminated_union"
    presence = Presence.CHECKED

    def __init__(self, key: str, options: Sequence[Schema[dict[str, Any]]]) -> None:
        self.key = key
        self.options = tuple(options)
        self._table: dict[tuple[type, object], Schema[dict[str, Any]]] = {}
        self._values: list[object] = []
        for option in self.options:
            for value in _discriminator_values(option, key):
                index = (type(value), value)
                if index in self._table:
                    raise ValueError(f"discriminator value {value!r} is used twice")
                self._table[index] = option
                self._values.append(value)

    def _lookup(self, value: object) -> Validator | None:
        if isinstance(value, str | int | float | bool) or value is None:
            option = self._table.get((type(value), value))
            if option is not None:
                return option.validator()
        return None

    def _emit(self, g: Gen, src: str, parts: tuple[str, ...], ind: int, out: Out, bad: str) -> None:
        fn = g.var("f")
        g.line(ind, f"if not isinstance({src}, dict):")
        g.type_error(ind + 1, src, parts, "object", bad)
        g.line(ind, "else:")
        lookup = g.const(self._lookup, "lookup")
        g.line(ind + 1, f"{fn} = {lookup}({src}.get({self.key!r}))")
        g.line(ind + 1, f"if {fn} is None:")
        options = " | ".join(json.dumps(value) for value in self._values)
        g.issue(
            ind + 2,
            (*parts, repr(self.key)),
            "invalid_union",
            f"invalid discriminator, expected one of {options}",
        )
        g.line(ind + 2, f"{bad} = True")
        g.line(ind + 1, "else:")
        g.result(ind + 2, f"{fn}({src}, {path_expr(parts)}, issues)", out, bad)

    def _json(self) -> dict[str, Any]:
        return {
            "oneOf": [option._schema() for option in self.options],
            "discriminator": {"propertyName": self.key},
        }
