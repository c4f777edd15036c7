"""One live server (the real app, production settings, simulator Discord) for the fuzzers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.campaigns.fuzz_http.live import LiveServer


@pytest.fixture(scope="package")
def live() -> Iterator[LiveServer]:
    with LiveServer() as server:
        yield server
