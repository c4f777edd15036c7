"""Log lines: JSON or text, request ids, and secrets scrubbed whatever the logger."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

from asgi_app.logs import MASK, JsonFormatter, Scrubber, TextFormatter
from tests.support.harness.process import ROOT, clean_env

BOT = "MTA5ODc2NTQzMjEwOTg3NjU0.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"
AUTH = "auth-token-for-the-log-tests-0123456789"
INTERACTION = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQtdG9rZW4tdmFsdWU"


def _record(message: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("t", logging.INFO, __file__, 1, message, args, None)


def test_scrubber_masks_known_secrets_and_token_shapes() -> None:
    scrub = Scrubber()
    scrub.add([AUTH, None, ""])
    text = scrub(
        f"auth={AUTH} bot={BOT} url=http://x/api/v10/webhooks/1000/{INTERACTION}/messages/@original"
        f" callback=/interactions/123/sometoken1234/callback raw={INTERACTION}"
    )
    assert AUTH not in text
    assert BOT not in text
    assert INTERACTION not in text
    assert "sometoken1234" not in text
    assert text.count(MASK) + text.count("[token]") >= 5
    assert "/webhooks/1000/" in text  # the route stays readable


def test_json_formatter_one_object_per_line_with_extras_and_request_id() -> None:
    record = _record("GET %s %d", "/health", 200)
    record.request_id = "abc123"
    record.duration_ms = 1.5
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["msg"] == "GET /health 200"
    assert data["level"] == "INFO"
    assert data["request_id"] == "abc123"
    assert data["duration_ms"] == 1.5


def test_text_formatter_is_readable() -> None:
    record = _record("shard %d ready", 0)
    record.request_id = None
    line = TextFormatter().format(record)
    assert "INFO" in line and "shard 0 ready" in line


def test_configured_process_scrubs_every_logger_including_third_party() -> None:
    """In a separate process (configure_logging changes global state): httpx's, uvicorn's and
    our own loggers, message arguments and exception text, JSON and text formats."""
    program = f"""
import logging
from asgi_app.logs import configure_logging
configure_logging("INFO", "json", [{AUTH!r}])
logging.getLogger("uvicorn.error").warning("token %s", {AUTH!r})
logging.getLogger("gateway.shard").info("url /interactions/55/{INTERACTION}/callback")
logging.getLogger("somelib").error("bot %s", {BOT!r})
try:
    raise RuntimeError("failed with " + {AUTH!r})
except RuntimeError:
    logging.getLogger("asgi_app.http").exception("boom")
"""
    done = subprocess.run(
        [sys.executable, "-c", program],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 4, done.stderr
    for line in lines:
        json.loads(line)
    for secret in (AUTH, BOT, INTERACTION):
        assert secret not in done.stderr
    assert done.stderr.count(MASK) + done.stderr.count("[token]") >= 4
