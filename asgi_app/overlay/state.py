"""Plain data shared by the overlay modules: the state before any POST, names, view keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any, Final

OverlayState = dict[str, Any]
"""A validated OverlayData mapping (JSON-compatible). Treat stored states as read-only."""

DEFAULT_OVERLAY: Final = "default"
NAME_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _team() -> dict[str, Any]:
    return {"score": 0, "name": "", "primaryColor": "", "secondaryColor": "", "logoUrl": ""}


DEFAULT_STATE: Final[OverlayState] = {
    "blue": _team(),
    "red": _team(),
    "maxScore": 2,
    "cameraControlsCover": False,
}
"""The state of an overlay nobody has posted to yet (CONTRACT.md "OverlayData")."""


def valid_name(name: object) -> bool:
    """True for overlay names usable as a room, a file name and a URL segment."""
    return isinstance(name, str) and NAME_PATTERN.fullmatch(name) is not None


def view_key(secret: str, name: str) -> str:
    """The read-only key that lets the OBS page of overlay `name` subscribe to it.

    HMAC-SHA256 of the overlay name keyed with VIEW_KEY_SECRET (or AUTH_TOKEN when it is
    unset), base64url without padding (43 characters). It reveals nothing about the secret and
    is valid for that one overlay only.
    """
    digest = hmac.new(secret.encode(), b"overlay-view:" + name.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def same_secret(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a presented secret (None or empty never matches)."""
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def view_url(secret: str, name: str, base_url: str = "") -> str:
    """`{base_url}/overlay/view/{name}?key=...`: what a streamer pastes into OBS."""
    if not valid_name(name):
        raise ValueError("invalid overlay name")
    return f"{base_url.rstrip('/')}/overlay/view/{name}?key={view_key(secret, name)}"
