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
import time
from collections.abc import Iterable
from typing import Any

import orjson

from gateway.delivery.trace import trace_id_var
from gateway.rest.client import redact_tokens

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

MASK = "[redacted]"
# Discord bot tokens have a recognisable shape even when we were not told the value.
_BOT_TOKEN_SHAPE = re.compile(r"\b[MNO][A-Za-z\d_-]{23,27}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,}\b")
# Interaction tokens are base64 of "interaction:...", so they start with this.
_INTERACTION_PREFIX = "aW50ZXJhY3Rpb246"
_INTERACTION_TOKEN_SHAPE = re.compile(r"\b" + _INTERACTION_PREFIX + r"[A-Za-z0-9_\-]+")
# Cheap tests that each pattern needs to match at all (a scan of every log line with the
# full patterns costs several microseconds; these, a fraction of one): the bot token's middle
# part between its two dots, and the path segments redact_tokens looks for.
_BOT_TOKEN_MIDDLE = re.compile(r"\.[A-Za-z\d_-]{6}\.")
_TOKEN_PATHS = ("/interactions/", "/webhooks/")

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
        if _TOKEN_PATHS[0] in text or _TOKEN_PATHS[1] in text:
            text = redact_tokens(text)
        if _BOT_TOKEN_MIDDLE.search(text) is not None:
            text = _BOT_TOKEN_SHAPE.sub(MASK, text)
        if _INTERACTION_PREFIX in text:
            text = _INTERACTION_TOKEN_SHAPE.sub(MASK, text)
        return text


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
    """Gives a record the request id of the request being served, unless it has one, and the
    trace id of the interaction being handled (`trace_id`, gateway/delivery/trace.py)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id_var.get()
        if "trace_id" not in record.__dict__:
            trace_id = trace_id_var.get()
            if trace_id is not None:
                record.trace_id = trace_id
        return True


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS}


class _UtcStamps:
    """`datetime.fromtimestamp(t, UTC).isoformat()`, with the date and time of day formatted
    once per second (a datetime per line costs more than the rest of an access line's JSON)."""

    def __init__(self) -> None:
        self._cached = (-1, "")  # one tuple: threads see a second and its text together

    def __call__(self, created: float) -> str:
        second, micro = divmod(round(created * 1_000_000), 1_000_000)
        cached_second, prefix = self._cached
        if second != cached_second:
            stamp = datetime.datetime.fromtimestamp(second, datetime.UTC)
            prefix = stamp.strftime("%Y-%m-%dT%H:%M:%S")
            self._cached = (second, prefix)
        if micro:
            return f"{prefix}.{micro:06d}+00:00"
        return f"{prefix}+00:00"


class JsonFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__()
        self._stamp = _UtcStamps()

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": self._stamp(record.created),
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


class _LineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """StreamHandler, one write per line: no second flush when the stream flushes each line
    itself (stderr does, from Python 3.9 on)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = self.stream
            stream.write(self.format(record) + "\n")
            if not getattr(stream, "line_buffering", False):
                stream.flush()
        except RecursionError:
            raise
        except Exception:
            self.handleError(record)


#: The handler configure_logging installed, when its lines are JSON (the direct path's).
_json_handler: _LineHandler | None = None


def write_direct(logger: logging.Logger, msg: str, fields: dict[str, Any]) -> bool:
    """Write an INFO line of `logger` straight to the handler configure_logging installed,
    exactly as that handler would format its record (the same JSON keys in the same order,
    scrubbed the same way), without making the record. Only when that handler alone would
    see it: no other handler or filter on the way (a test's capture, a library's handler) and
    no logger disabled, JSON format. Returns False, having written nothing, otherwise: the
    caller then logs the usual way. The caller has checked `logger.isEnabledFor(INFO)`.

    A record costs more than the rest of an access line (about 10 us of the ~15 us); the
    access log is the only place this is worth it."""
    handler = _json_handler
    if handler is None or handler.level > logging.INFO:
        return False
    if len(handler.filters) != 1 or not isinstance(handler.filters[0], RequestIdFilter):
        return False
    reached = False
    node: logging.Logger | None = logger
    while node is not None:  # the loggers a record would pass (Logger.callHandlers)
        if node.disabled or node.filters:
            return False
        for other in node.handlers:
            if other is not handler:
                return False
            reached = True
        node = node.parent if node.propagate else None
    if not reached:
        return False
    line: dict[str, Any] = {
        "ts": _direct_stamp(time.time()),
        "level": "INFO",
        "logger": logger.name,
        "msg": scrub(msg),
    }
    request_id = request_id_var.get()
    if request_id:
        line["request_id"] = request_id
    line.update(fields)
    text = scrub(orjson.dumps(line, default=str).decode()) + "\n"
    try:
        with handler.lock:  # type: ignore[union-attr]
            stream = handler.stream
            stream.write(text)
            if not getattr(stream, "line_buffering", False):
                stream.flush()
    except Exception:  # the record path reports it (Handler.handleError), as for any line
        return False
    return True


_direct_stamp = _UtcStamps()


def configure_logging(level: str, fmt: str, secrets: Iterable[str | None] = ()) -> None:
    """Install the formatter on the root logger and route uvicorn's loggers through it."""
    scrub.add(secrets)
    logging.setLogRecordFactory(_record_factory)
    handler = _LineHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old, _LineHandler):  # an earlier call's
            root.removeHandler(old)
    root.addHandler(handler)
    global _json_handler
    _json_handler = handler if fmt == "json" else None
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
