"""The constructors: `v.string()`, `v.object({...})`, ... (names follow Zod, so several
shadow builtins here; this module uses `builtins.` where it needs the real ones)."""

from __future__ import annotations

import builtins
import enum as _enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, overload

from .choices import EnumSchema, LiteralSchema, NativeEnumSchema
from .containers import ArraySchema, RecordSchema, TupleSchema
from .objects import ObjectSchema
from .scalars import (
    AnySchema,
    BooleanSchema,
    DateTimeSchema,
    IntSchema,
    NumberSchema,
    StringSchema,
)
from .schema import Schema
from .unions import DiscriminatedUnionSchema, UnionSchema
from .wrappers import LazySchema

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")
D = TypeVar("D")
E = TypeVar("E", bound=_enum.Enum)
L = TypeVar("L", builtins.str, builtins.int, builtins.float, builtins.bool, None)


def string() -> StringSchema:
    return StringSchema()


def number() -> NumberSchema:
    """int or finite float; bool is not a number."""
    return NumberSchema()


def int() -> IntSchema:
    """int (bool is not an int); an integral float such as 3.0 is accepted as 3."""
    return IntSchema()


def boolean() -> BooleanSchema:
    return BooleanSchema()


def literal(value: L) -> LiteralSchema[L]:
    return LiteralSchema(value)


@overload
def enum(values: type[E]) -> NativeEnumSchema[E]: ...
@overload
def enum(values: Sequence[builtins.str]) -> EnumSchema: ...
def enum(values: type[E] | Sequence[builtins.str]) -> NativeEnumSchema[E] | EnumSchema:
    """One of the given strings, or a member of a Python Enum (looked up by value)."""
    if isinstance(values, type) and issubclass(values, _enum.Enum):
        return NativeEnumSchema(values)
    return EnumSchema(values)


def datetime() -> DateTimeSchema:
    return DateTimeSchema()


def any() -> AnySchema:
    return AnySchema()


unknown = any


def object(shape: Mapping[builtins.str, Schema[Any]]) -> ObjectSchema:
    return ObjectSchema(shape)


def array(item: Schema[T]) -> ArraySchema[T]:
    return ArraySchema(item)


def tuple(*items: Schema[Any]) -> TupleSchema:
    return TupleSchema(items)


def record(values: Schema[T], keys: Schema[builtins.str] | None = None) -> RecordSchema[T]:
    return RecordSchema(keys if keys is not None else StringSchema(), values)


@overload
def union(a: Schema[A], b: Schema[B], /) -> Schema[A | B]: ...
@overload
def union(a: Schema[A], b: Schema[B], c: Schema[C], /) -> Schema[A | B | C]: ...
@overload
def union(a: Schema[A], b: Schema[B], c: Schema[C], d: Schema[D], /) -> Schema[A | B | C | D]: ...
@overload
def union(*options: Schema[Any]) -> Schema[Any]: ...
def union(*options: Schema[Any]) -> Schema[Any]:
    return UnionSchema(options)


def discriminated_union(
    key: builtins.str, options: Sequence[Schema[builtins.dict[builtins.str, Any]]]
) -> DiscriminatedUnionSchema:
    return DiscriminatedUnionSchema(key, options)


def optional(schema: Schema[T]) -> Schema[T | None]:
    return schema.optional()


def nullable(schema: Schema[T]) -> Schema[T | None]:
    return schema.nullable()


def lazy(getter: Callable[[], Schema[T]]) -> LazySchema[T]:
    return LazySchema(getter)
