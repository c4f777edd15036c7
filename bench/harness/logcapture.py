"""Every log line the suite produces, kept so that a last test can look for secrets in it.

In-process records are captured by a root handler installed in tests/conftest.py; server
subprocesses hand their output to `record_output`. The secrets to look for are collected as
the suite creates them (settings secrets, simulator and relay tokens, interaction tokens).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

CAPTURE = Path(
    os.environ.get("LOG_CAPTURE_FILE")
    or Path(tempfile.gettempdir()) / f"draft-league-suite-logs-{os.getpid()}.txt"
)
SECRETS: set[str] = set()


def add_secret(value: str | None) -> None:
    # Placeholder values some tests use ("a" * 40) also turn up in fuzzed paths; a value with
    # so few distinct characters is not a secret anyone could leak.
    if value and len(value) >= 8 and len(set(value)) >= 6:
        SECRETS.add(value)


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
