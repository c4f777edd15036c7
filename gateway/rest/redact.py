"""Interaction and webhook tokens kept out of log lines: they sit in the paths of the
callback and webhook routes, which httpx logs at INFO."""

from __future__ import annotations

import logging
import re

_TOKEN_IN_PATH = re.compile(r"(/(?:interactions|webhooks)/\d+/)[^/\s\"?]+")


def redact_tokens(text: str) -> str:
    """Hide interaction and webhook tokens in a URL or log line."""
    return _TOKEN_IN_PATH.sub(r"\1[token]", text)


class _RedactTokens(logging.Filter):
    """httpx logs every request URL at INFO; interaction/webhook tokens are in those paths."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACT = _RedactTokens()


def install_log_redaction() -> None:
    """Idempotent: put the token filter on the httpx logger."""
    httpx_log = logging.getLogger("httpx")
    if _REDACT not in httpx_log.filters:
        httpx_log.addFilter(_REDACT)
