"""The access line's direct path writes what the record path writes, and steps aside whenever
anything but the configured handler would see the record."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys

from asgi_app.logs import _UtcStamps
from tests.support.harness.process import ROOT, clean_env

AUTH = "auth-token-for-the-access-tests-0123456789"
INTERACTION = "aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQtdG9rZW4tdmFsdWU"

PROGRAM = f"""
import logging
from asgi_app import logs

logs.configure_logging("INFO", "json", [{AUTH!r}])
log = logging.getLogger("asgi_app.access")
token = logs.request_id_var.set("rid-1")
msg = "GET /interactions/55/{INTERACTION}/callback?k={AUTH} 200"
fields = {{"duration_ms": 1.25, "client": "10.0.0.1"}}
assert logs.write_direct(log, msg, fields)
record = log.makeRecord(log.name, logging.INFO, "access.py", 1, msg, (), None)
record.__dict__.update(fields)
log.handle(record)

class Keep(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []
    def emit(self, record):
        self.records.append(record)

keep = Keep()
logging.getLogger().addHandler(keep)
assert not logs.write_direct(log, "seen by a capture", {{}})
logging.getLogger().removeHandler(keep)
logging.getLogger("asgi_app").addFilter(lambda record: True)
assert not logs.write_direct(log, "a filter on the way", {{}})
logging.getLogger("asgi_app").filters.clear()
log.disabled = True
assert not logs.write_direct(log, "disabled", {{}})
log.disabled = False
logs.request_id_var.reset(token)
assert logs.write_direct(log, "GET / 200", {{}})
logs.configure_logging("INFO", "text")
assert not logs.write_direct(log, "text format", {{}})
"""


def test_direct_line_equals_the_record_line_and_falls_back() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert len(lines) == 3, done.stderr
    direct, recorded, without_id = lines
    assert AUTH not in done.stderr and INTERACTION not in done.stderr
    assert list(direct) == list(recorded)  # the same keys in the same order
    assert {**direct, "ts": ""} == {**recorded, "ts": ""}
    assert direct["request_id"] == "rid-1" and direct["client"] == "10.0.0.1"
    assert direct["msg"] == recorded["msg"] and "[token]" in direct["msg"]
    assert "request_id" not in without_id and without_id["msg"] == "GET / 200"
    for line in lines:
        stamp = datetime.datetime.fromisoformat(line["ts"])
        assert stamp.tzinfo is not None and stamp.utcoffset() == datetime.timedelta(0)


def test_utc_stamps_match_isoformat() -> None:
    stamps = _UtcStamps()
    for created in (1_780_000_000.0, 1_780_000_000.5, 1_780_000_000.123456, 1_780_000_001.999):
        expected = datetime.datetime.fromtimestamp(created, datetime.UTC).isoformat()
        assert stamps(created) == expected
