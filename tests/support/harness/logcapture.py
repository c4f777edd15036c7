"""Every log line the suite produces, kept so that a last test can look for secrets in it.

In-process records are captured by a root handler installed in tests/conftest.py; server
subprocesses hand their output to `record_output`. The secrets to look for are noted by whoever
makes them: the harness and the tests note their settings (`note_settings`) and tokens
(`add_secret`); tests/conftest.py has the simulator announce its bot token and every interaction
token it records (gateway/simulator/secret_watch.py).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol, TypeVar


class HasSecrets(Protocol):
    def secret_values(self) -> tuple[str, ...]: ...


S = TypeVar("S", bound=HasSecrets)

CAPTURE = Path(
    os.environ.get("LOG_CAPTURE_FILE")
    or Path(tempfile.gettempdir()) / f"draft-league-suite-logs-{os.getpid()}.txt"
)
SECRETS: set[str] = set()
# Interaction tokens are base64 of "interaction:..."; the simulator makes them the same way, so
# one is found even if no one noted it.
INTERACTION_TOKEN = re.compile(r"aW50ZXJhY3Rpb246[A-Za-z0-9_\-]{16,}")


def add_secret(value: str | None) -> None:
    # Placeholder values some tests use ("a" * 40) also turn up in fuzzed paths; a value with
    # so few distinct characters is not a secret anyone could leak.
    if value and len(value) >= 8 and len(set(value)) >= 6:
        SECRETS.add(value)


def note_settings(settings: S) -> S:
    """Note the secrets of settings a test or harness made (bot token, AUTH_TOKEN, Redis URL
    and password, signing key); returns them, so that `note_settings(load_settings(...))`."""
    for value in settings.secret_values():
        add_secret(value)
    return settings


def leaks(text: str, secrets: Iterable[str]) -> list[str]:
    """The secrets (shortened) and interaction-token-shaped strings found in `text`."""
    return sorted(
        {secret[:6] + "..." for secret in secrets if secret in text}
        | {m[:22] + "..." for m in INTERACTION_TOKEN.findall(text)}
    )


def record_output(text: str) -> None:
    if text:
        with CAPTURE.open("a", encoding="utf-8") as out:
            out.write(text if text.endswith("\n") else text + "\n")


class CaptureHandler(logging.Handler):
    """Writes every record (as its final text) to the capture file."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # a record that cannot be formatted is still looked at
            text = str(record.msg)
        self.lines += 1
        record_output(text)
