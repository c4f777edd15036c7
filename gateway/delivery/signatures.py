"""Signatures over an interaction body, both directions.

Forwards to the main app carry two: `X-Signature-SHA256`, hex HMAC-SHA256 keyed with
AUTH_TOKEN over `timestamp + "." + body`, and `X-Signature-Ed25519`, hex Ed25519 over
`timestamp + body` (no dot), exactly Discord's scheme for its HTTP interactions, so the main
app verifies it with the standard libraries (discord-interactions' `verifyKey`) and this
server's public key. `verify_ed25519` checks Discord's own signatures on `POST /interactions`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterable, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SigningKey = Ed25519PrivateKey

#: How far (seconds) a signature's timestamp may be from now before it is refused.
TIMESTAMP_TOLERANCE = 300.0


def sign(auth_token: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 keyed with AUTH_TOKEN over `timestamp + "." + body`."""
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(auth_token.encode(), message, hashlib.sha256).hexdigest()


def signature_headers(
    auth_token: str,
    timestamp: str,
    body: bytes,
    signers: Iterable[Callable[[str, bytes], Mapping[str, str]]] = (),
) -> dict[str, str]:
    """The signature headers of a delivery to the main app made at `timestamp` (unix
    seconds): X-Signature-Timestamp, X-Signature-SHA256 (`sign`) and each signer's headers
    (X-Signature-Ed25519 from `Ed25519Signer`)."""
    headers = {
        "X-Signature-Timestamp": timestamp,
        "X-Signature-SHA256": sign(auth_token, timestamp, body),
    }
    for signer in signers:
        headers.update(signer(timestamp, body))
    return headers


def _fresh(timestamp: str, tolerance: float | None, now: float | None) -> bool:
    """True when `timestamp` (unix seconds) is within `tolerance` of `now` (None: any)."""
    if tolerance is None:
        return True
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance


def verify_signature(
    auth_token: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: float | None = TIMESTAMP_TOLERANCE,
    now: float | None = None,
) -> bool:
    """True when `signature` (X-Signature-SHA256) signs `timestamp` + "." + `body`.

    With `tolerance` (seconds), a timestamp further than that from `now` (default: time.time())
    is refused, so a captured request cannot be replayed later.
    """
    if not _fresh(timestamp, tolerance, now):
        return False
    try:
        expected = sign(auth_token, timestamp, body)
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(expected, signature.strip().lower())


def sign_ed25519(key: Ed25519PrivateKey, timestamp: str, body: bytes) -> str:
    """Hex Ed25519 signature over `timestamp + body`, as Discord signs X-Signature-Ed25519."""
    return key.sign(timestamp.encode("ascii") + body).hex()


def public_key_hex(key: Ed25519PrivateKey) -> str:
    """The 64-hex-character raw public key of `key` (what `verifyKey` is given)."""
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def load_public_key(hex_key: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its 64 hex characters (ValueError otherwise)."""
    raw = bytes.fromhex(hex_key)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_ed25519(
    public_key: Ed25519PublicKey,
    timestamp: str | None,
    body: bytes,
    signature: str | None,
    *,
    tolerance: float | None = TIMESTAMP_TOLERANCE,
    now: float | None = None,
) -> bool:
    """True when `signature` (hex X-Signature-Ed25519) signs `timestamp + body` and the
    timestamp is within `tolerance` seconds of `now`. Missing or malformed parts are False."""
    if not timestamp or not signature or not timestamp.isascii():
        return False
    if not _fresh(timestamp, tolerance, now):
        return False
    try:
        raw = bytes.fromhex(signature)
    except ValueError:
        return False
    if len(raw) != 64:
        return False
    try:
        public_key.verify(raw, timestamp.encode("ascii") + body)
    except InvalidSignature:
        return False
    return True


class Ed25519Signer:
    """The X-Signature-Ed25519 header of a forward (a `forward.Signer`: called with the
    forward's X-Signature-Timestamp and body). `key`: the forward signing key
    (`signing_key.load_signing_key`); None generates one for this object's life (tests)."""

    __slots__ = ("_key", "public_key")

    def __init__(self, key: Ed25519PrivateKey | None = None) -> None:
        self._key = Ed25519PrivateKey.generate() if key is None else key
        self.public_key = public_key_hex(self._key)

    def __repr__(self) -> str:  # never the key
        return f"Ed25519Signer(public_key={self.public_key!r})"

    def __call__(self, timestamp: str, body: bytes) -> dict[str, str]:
        return {"X-Signature-Ed25519": sign_ed25519(self._key, timestamp, body)}
