"""The gateway input fuzzer, short version (bench/fuzz_gateway.py is the long one): hypothesis
draws hostile gateway input in each compression mode against one simulator + GatewayManager."""

from __future__ import annotations

import logging

import pytest

from tests.support.campaigns.fuzz_gateway import campaign

pytestmark = pytest.mark.timeout(120)

CASES = {"none": 300, "zlib-stream": 300, "zstd-stream": 300}


@pytest.mark.parametrize("compression", list(CASES))
def test_fuzz_gateway_input(compression: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="gateway")
    figures = campaign.run(compression, CASES[compression], seed_value=7)
    print(figures.line())
    print("\n".join(figures.failures))
    assert figures.cases >= CASES[compression] * 0.8  # hypothesis skips duplicates
    assert figures.crashes == 0, figures.failures
    assert figures.failed == 0, "\n".join(figures.failures)
    assert figures.reconnects > 0 and figures.dropped > 0  # the faults did bite
    assert set(figures.kinds) >= {"shape", "frame", "close", "corrupt", "hello"}
    # the causes reached the log (caplog sees the shard's thread too)
    text = caplog.text
    assert "reconnecting (resume) after" in text and "dropped" in text
