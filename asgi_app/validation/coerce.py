"""Explicit coercion, for environment values only: text in, typed values out.

`boolean()`: "true"/"1"/"yes"/"on" and "false"/"0"/"no"/"off" (any case, trimmed).
`int()`: "42" -> 42, "0" -> 0. `number()`: "2.5" -> 2.5. `string()`: numbers become text.
An empty (or blank) string counts as a missing value, so `.optional()` and `.default()` apply.
"""

from __future__ import annotations

import builtins
import re

from .issues import MISSING
from .scalars import BooleanSchema, IntSchema, NumberSchema, StringSchema

_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_NUM_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def coerce_int(value: object) -> object:
    """Env text to int: "42" -> 42, "" -> MISSING, other text left as is (then rejected)."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return MISSING
        if _INT_TEXT.fullmatch(text) and len(text) <= 4000:
            return builtins.int(text)
    return value


def coerce_number(value: object) -> object:
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return MISSING
        if _NUM_TEXT.fullmatch(text) and len(text) <= 4000:
            number = float(text)
            if number.is_integer() and _INT_TEXT.fullmatch(text):
                return builtins.int(text)
            return number
    return value


def coerce_boolean(value: object) -> object:
    """Env text to bool: true/1/yes/on and false/0/no/off (any case); "" -> MISSING."""
    if isinstance(value, str):
        text = value.strip().lower()
        if not text:
            return MISSING
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return value


def coerce_string(value: object) -> object:
    if isinstance(value, str):
        return value if value.strip() else MISSING
    if isinstance(value, builtins.int | float) and not isinstance(value, bool):
        return str(value)
    return value


def boolean() -> BooleanSchema:
    return BooleanSchema(coerce_boolean)


def int() -> IntSchema:
    return IntSchema(coerce_int)


def number() -> NumberSchema:
    return NumberSchema(coerce_number)


def string() -> StringSchema:
    return StringSchema(coerce_string)
