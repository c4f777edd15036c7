"""A Zod-like validation library: `from asgi_app import validation as v`.

    s = v.object({"name": v.string().min(1), "score": v.int().min(0)})
    s.parse(data)        # -> the value, or raises v.ValidationError with every issue
    s.safe_parse(data)   # -> ParseResult(ok, value, error)
    s.json_schema()      # -> JSON Schema (draft 2020-12)

Each schema compiles once, on first use, into one generated Python function.
Messages never contain the input value: they are safe to return to HTTP clients.
"""

from . import coerce
from .builders import (
    any,
    array,
    boolean,
    datetime,
    discriminated_union,
    enum,
    int,
    lazy,
    literal,
    nullable,
    number,
    object,
    optional,
    record,
    string,
    tuple,
    union,
    unknown,
)
from .choices import EnumSchema, LiteralSchema, NativeEnumSchema
from .containers import ArraySchema, RecordSchema, TupleSchema
from .issues import CODES, INVALID, MISSING, Issue, ParseResult, ValidationError
from .objects import ObjectSchema
from .scalars import (
    AnySchema,
    BooleanSchema,
    DateTimeSchema,
    IntSchema,
    NumberSchema,
    StringSchema,
)
from .schema import Presence, Schema
from .unions import DiscriminatedUnionSchema, UnionSchema
from .wrappers import Reporter

__all__ = [
    "CODES",
    "INVALID",
    "MISSING",
    "AnySchema",
    "ArraySchema",
    "BooleanSchema",
    "DateTimeSchema",
    "DiscriminatedUnionSchema",
    "EnumSchema",
    "IntSchema",
    "Issue",
    "LiteralSchema",
    "NativeEnumSchema",
    "NumberSchema",
    "ObjectSchema",
    "ParseResult",
    "Presence",
    "RecordSchema",
    "Reporter",
    "Schema",
    "StringSchema",
    "TupleSchema",
    "UnionSchema",
    "ValidationError",
    "any",
    "array",
    "boolean",
    "coerce",
    "datetime",
    "discriminated_union",
    "enum",
    "int",
    "lazy",
    "literal",
    "nullable",
    "number",
    "object",
    "optional",
    "record",
    "string",
    "tuple",
    "union",
    "unknown",
]
