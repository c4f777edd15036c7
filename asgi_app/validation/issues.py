"""Issues, the error that carries them, the safe-parse result and the two sentinels."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

T = TypeVar("T")

PathPart = str | int
Path = tuple[PathPart, ...]

#: Every issue code, named as Zod 4 names them, and when the library raises it. A refine or
#: super_refine may set its own code (`custom` unless told); the library raises only these.
CODES: dict[str, str] = {
    "invalid_type": "the value has the wrong type (string, number, object...), a number is "
    "NaN or infinite, or an object key that must be there is missing (message 'required')",
    "too_small": "below a minimum: string length, array or tuple items, a number (min, gt, "
    "positive, nonnegative), or an int() below the safe-integer range",
    "too_big": "above a maximum: string length, array or tuple items, a number (max, lt, "
    "negative), or an int() above the safe-integer range",
    "invalid_format": "a string fails its format: regex, url, email, datetime; or v.datetime() "
    "cannot read the date",
    "not_multiple_of": "a number is not a multiple of multiple_of(n)",
    "unrecognized_keys": "an object under strict(), or a record keyed by an enum, has a key it "
    "does not know (one issue per key, at that key's path)",
    "invalid_union": "no option of a union accepts the value (and not exactly one could read "
    "it), a discriminated union's key matches no option, or a union key is missing",
    "invalid_key": "a record key fails the record's key schema (at that key's path)",
    "invalid_element": "never raised: Zod raises it for Map and Set items, kinds this library "
    "does not have",
    "invalid_value": "not the literal, or not one of the enum's values (also when the key is "
    "missing: message 'required')",
    "custom": "a refine or super_refine check failed, or a refine/transform function raised "
    "ValueError or TypeError (message 'invalid value')",
}


class _Sentinel:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Sentinel("MISSING")
"""An absent object key (or an empty env value under coercion)."""

INVALID: Any = _Sentinel("INVALID")
"""What a compiled validator returns when its input could not be read at all."""


def _escape(part: PathPart) -> str:
    return str(part).replace("~", "~0").replace("/", "~1")


class Issue(NamedTuple):
    """One problem: where (path), what kind (code) and a message that never echoes input."""

    path: Path
    code: str
    message: str

    @property
    def pointer(self) -> str:
        """RFC 6901 JSON pointer to the offending value ("" is the whole document)."""
        return "".join("/" + _escape(part) for part in self.path)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": list(self.path),
            "pointer": self.pointer,
            "code": self.code,
            "message": self.message,
        }


class ValidationError(ValueError):
    """Every issue found in one parse, in document order."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        self.issues: list[Issue] = issues if isinstance(issues, list) else list(issues)

    def __str__(self) -> str:
        return self._summary()

    def _summary(self) -> str:
        shown = [f"{issue.pointer or '/'}: {issue.message}" for issue in self.issues[:5]]
        more = len(self.issues) - len(shown)
        if more > 0:
            shown.append(f"... and {more} more")
        count = len(self.issues)
        return f"{count} validation issue{'s' if count != 1 else ''}: " + "; ".join(shown)

    def to_list(self) -> list[dict[str, Any]]:
        return [issue.to_dict() for issue in self.issues]


@dataclass(frozen=True, slots=True)
class ParseResult(Generic[T]):
    """What `safe_parse` returns: `ok` and `value`, or `error`."""

    ok: bool
    value: T | None
    error: ValidationError | None


def received(value: object) -> str:
    """The JSON-ish type name of a value, for messages (never the value itself)."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "boolean"
    if isinstance(value, int):
        return "number"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return "infinity" if math.isinf(value) else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    if value is MISSING:
        return "undefined"
    return "unknown"


_new_issue = tuple.__new__
_type_messages: dict[tuple[str, type], str] = {}


def type_issue(path: Path, expected: str, value: object) -> Issue:
    """invalid_type for a value of the wrong type, or "required" for a missing one."""
    if value is MISSING:
        return _new_issue(Issue, (path, "invalid_type", "required"))
    kind = type(value)
    message = _type_messages.get((expected, kind))
    if message is None or kind is float:
        message = f"expected {expected}, received {received(value)}"
        if kind is not float and len(_type_messages) < 512:
            _type_messages[(expected, kind)] = message
    return _new_issue(Issue, (path, "invalid_type", message))
