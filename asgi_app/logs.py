"""Logging: one structured line per event, request ids, and secrets scrubbed from everything.

Scrubbing happens in the log-record factory, so it covers every logger of the process (ours,
uvicorn's, gunicorn's, httpx's) whatever handlers they use; our formatters scrub the final line
once more, which also covers exception text.
"""

from __future__ import annotations

import contextvars
import datetime
import logging
import re
import sys
from collections.abc import Iterable
from typing import Any

import orjson

from gateway.rest.client import redact_tokens

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

MASK = "[redacted]"
# Discord bot tokens have a recognisable shape even when we were not told the value.
_BOT_TOKEN_SHAPE = re.compile(r"\b[MNO][A-Za-z\d_-]{23,27}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,}\b")
# Interaction tokens are base64 of "interaction:...", so they start with this.
_INTERACTION_TOKEN_SHAPE = re.compile(r"\baW50ZXJhY3Rpb246[A-Za-z0-9_\-]+")

_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys()
    | {"message", "asctime", "request_id"}
)


class Scrubber:
    """Replaces known secrets and token-shaped strings with a mask."""

    def __init__(self) -> None:
        self._secrets: tuple[str, ...] = ()

    def add(self, secrets: Iterable[str | None]) -> None:
        found = {s for s in secrets if s and len(s) >= 6}
        self._secrets = tuple(sorted(found | set(self._secrets), key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        # Interaction and webhook tokens travel in URL paths (httpx logs URLs at INFO).
        text = redact_tokens(text)
        text = _BOT_TOKEN_SHAPE.sub(MASK, text)
        return _INTERACTION_TOKEN_SHAPE.sub(MASK, text)


scrub = Scrubber()
_base_factory = logging.getLogRecordFactory()


def _record_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _base_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a bad format string must not lose the line
        message = str(record.msg)
    record.msg = scrub(message)
    record.args = None
    # No attribute of our own here: `extra=` may not name an attribute the factory set
    # (logging raises KeyError "Attempt to overwrite ..."), so the request id is added by
    # RequestIdFilter, after `extra` was applied.
    return record


class RequestIdFilter(logging.Filter):
    """Gives a record the request id of the request being served, unless it has one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            line["request_id"] = request_id
        line.update(_extras(record))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return scrub(orjson.dumps(line, default=str).decode())


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        parts = [f"{stamp} {record.levelname:<7} {record.name}: {record.getMessage()}"]
        request_id = getattr(record, "request_id", None)
        extras = _extras(record)
        if request_id:
            extras["request_id"] = request_id
        if extras:
            parts.append(" ".join(f"{k}={v}" for k, v in extras.items()))
        text = "  ".join(parts)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return scrub(text)


def configure_logging(level: str, fmt: str, secrets: Iterable[str | None] = ()) -> None:
    """Install the formatter on the root logger and route uvicorn's loggers through it."""
    scrub.add(secrets)
    logging.setLogRecordFactory(_record_factory)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_draft_league", False):
            root.removeHandler(old)
    handler._draft_league = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    # Our own middleware writes one access line per request, with its request id.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request URL at INFO; they carry interaction tokens. Scrubbed anyway,
    # but they are noise at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
