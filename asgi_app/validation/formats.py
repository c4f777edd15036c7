"""Runtime helpers the generated code calls: numeric conversion and string formats."""

from __future__ import annotations

import math
import re
from datetime import datetime
from urllib.parse import urlsplit

from .issues import MISSING, Issue, Path, received

# Practical e-mail shape (the one Zod uses, simplified): local@domain.tld, no spaces.
EMAIL = re.compile(
    r"(?!\.)(?!.*\.\.)[A-Za-z0-9_'+\-.]*[A-Za-z0-9_+\-]@[A-Za-z0-9][A-Za-z0-9\-]*"
    r"(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")


#: Integral floats above this are not exact integers any more (2**53 - 1, JavaScript's
#: Number.MAX_SAFE_INTEGER); a JSON integer too large for 64 bits is decoded as such a float.
MAX_SAFE_INTEGER = 2**53 - 1


def as_int(value: object) -> int | None:
    """An int from an int (not bool) or an integral float within the safe-integer range;
    None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
        return int(value)
    return None


def as_number(value: object) -> int | float | None:
    """An int or finite float (not bool); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and math.isfinite(value):
        return float(value)
    return None


def number_issue(path: Path, expected: str, value: object) -> Issue:
    if value is MISSING:
        return Issue(path, "invalid_type", "required")
    if isinstance(value, float) and math.isinf(value):
        return Issue(path, "not_finite", "must be finite")
    return Issue(path, "invalid_type", f"expected {expected}, received {received(value)}")


def is_url(text: str, schemes: frozenset[str] | None) -> bool:
    """An absolute URL with a scheme and a host, no whitespace or control characters."""
    if not text or any(ch.isspace() or ord(ch) < 32 for ch in text):
        return False
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError:
        return False
    if not _SCHEME.fullmatch(parts.scheme) or not parts.hostname:
        return False
    return schemes is None or parts.scheme.lower() in schemes


def parse_datetime(value: object) -> datetime | None:
    """An ISO 8601 date-time (a trailing Z allowed) or None."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not 10 <= len(value) <= 64:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def is_datetime(text: str) -> bool:
    return "T" in text.upper() and parse_datetime(text) is not None
