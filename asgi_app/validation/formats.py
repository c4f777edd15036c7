"""Runtime helpers the generated code calls: numeric conversion and string formats."""

from __future__ import annotations

import math
import re
from datetime import datetime
from urllib.parse import urlsplit

from .issues import MISSING, Issue, Path, received

#: Zod 4's "practical" e-mail pattern (`z.email()`), unchanged: dot-separated local part,
#: domain labels that start with a letter or digit, a top-level domain of 2+ letters.
EMAIL = re.compile(
    r"(?:[A-Za-z0-9_'+\-]+\.)*[A-Za-z0-9_'+\-]*[A-Za-z0-9_+-]"
    r"@(?:[A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}"
)

# Zod 4's ISO date-time patterns (`z.iso.datetime()`): a real calendar date (leap years
# included), "T", hh:mm:ss with optional fraction, then "Z" (or an offset / nothing, when
# allowed). Digits are ASCII only.
_DATE = (
    r"(?:(?:[0-9][0-9][2468][048]|[0-9][0-9][13579][26]|[0-9][0-9]0[48]|[02468][048]00"
    r"|[13579][26]00)-02-29|[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|(?:02)-(?:0[1-9]|1[0-9]|2[0-8])))"
)
_HHMM = r"(?:[01][0-9]|2[0-3]):[0-5][0-9]"
_OFFSET = r"[+-](?:[01][0-9]|2[0-3]):[0-5][0-9]"


def _time(precision: int | None, seconds: bool) -> str:
    if precision is None:
        tail = r"(?:\.[0-9]+)?"
        return f"{_HHMM}:[0-5][0-9]{tail}" if seconds else f"{_HHMM}(?::[0-5][0-9]{tail})?"
    if precision == -1:
        return _HHMM
    return f"{_HHMM}:[0-5][0-9]" + (f"\\.[0-9]{{{precision}}}" if precision else "")


def datetime_pattern(offset: bool, local: bool, precision: int | None) -> re.Pattern[str]:
    """The pattern of `string().datetime(offset=, local=, precision=)`, as Zod builds it."""
    zones = "Z|" + _OFFSET if offset else "Z"
    qualified = f"{_time(precision, True)}(?:{zones})"
    times = f"{qualified}|{_time(precision, False)}" if local else qualified
    return re.compile(f"{_DATE}T(?:{times})")


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
        return Issue(path, "invalid_type", f"expected {expected}, received infinity")
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
