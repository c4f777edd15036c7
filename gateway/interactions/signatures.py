"""HMAC-SHA256 signatures of the forwards: `timestamp + "." + body` keyed with AUTH_TOKEN."""

from __future__ import annotations

import hashlib
import hmac
import time


def sign(auth_token: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 keyed with AUTH_TOKEN over `timestamp + "." + body`."""
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(auth_token.encode(), message, hashlib.sha256).hexdigest()


def verify_signature(
    auth_token: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: float | None = 300.0,
    now: float | None = None,
) -> bool:
    """True when `signature` (X-Signature-SHA256) signs `timestamp` + "." + `body`.

    With `tolerance` (seconds), a timestamp further than that from `now` (default: time.time())
    is refused, so a captured request cannot be replayed later.
    """
    if tolerance is not None:
        try:
            age = abs((time.time() if now is None else now) - int(timestamp))
        except ValueError:
            return False
        if age > tolerance:
            return False
    try:
        expected = sign(auth_token, timestamp, body)
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected, signature.strip().lower())
