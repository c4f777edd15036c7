"""Explicit coercion, for environment values only: text in, typed values out.

`boolean()`: "true"/"1"/"yes"/"on" and "false"/"0"/"no"/"off" (any case, trimmed).
`int()`: "42" -> 42, "0" -> 0. `number()`: "2.5" -> 2.5. `string()`: numbers become text.
An empty (or blank) string counts as a missing value, so `.optional()` and `.default()` apply.
"""

from __future__ import annotations

from . import checks
from .scalars import BooleanSchema, IntSchema, NumberSchema, StringSchema


def boolean() -> BooleanSchema:
    return BooleanSchema(checks.coerce_boolean)


def int() -> IntSchema:
    return IntSchema(checks.coerce_int)


def number() -> NumberSchema:
    return NumberSchema(checks.coerce_number)


def string() -> StringSchema:
    return StringSchema(checks.coerce_string)
