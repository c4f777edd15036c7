"""Suite-wide: capture every log line (for the secrets check that runs last) and note the
secrets the suite's helpers hand out, so that check knows what to look for.

Who notes what (nothing is patched): the simulator announces its bot token and every
interaction token it records (gateway/simulator/secret_watch.py, watched here); the harness
notes the AUTH_TOKEN values and settings it makes (tests/support/harness/app.py, relay_stack.py);
tests
that load settings themselves pass them through `logcapture.note_settings`."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from gateway.simulator import secret_watch
from tests.support.harness import app, logcapture, relay_stack


@pytest.fixture(scope="session", autouse=True)
def noted_secrets() -> Iterator[set[str]]:
    unwatch = secret_watch.watch(logcapture.add_secret)
    for value in (app.AUTH_TOKEN, relay_stack.AUTH):
        logcapture.add_secret(value)
    yield logcapture.SECRETS
    unwatch()


@pytest.fixture(scope="session", autouse=True)
def capture_logs(noted_secrets: set[str]) -> Iterator[logcapture.CaptureHandler]:
    logcapture.CAPTURE.unlink(missing_ok=True)
    handler = logcapture.CaptureHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
