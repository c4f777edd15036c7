"""Payloads of the wrong shape, one by one: what the shard does with each (regressions found
by the gateway fuzzer, tests/fuzz_gateway/test_fuzz.py)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from gateway.connection import Shard, ShardStatus
from gateway.simulator import DiscordSimulator
from tests.gateway.conftest import Recorder, eventually
from tests.support.campaigns.fuzz_gateway.raw import newest, send_json

pytestmark = pytest.mark.timeout(60)

MakeShard = Callable[..., Shard]
MakeSim = Callable[..., Awaitable[DiscordSimulator]]


async def ready_shard(sim: DiscordSimulator, make_shard: MakeShard, **options: Any) -> Shard:
    shard = make_shard(sim, **options)
    shard.start()
    await sim.wait_ready()
    await eventually(lambda: shard.status is ShardStatus.READY)
    return shard


def messages(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records)


BOGUS_SEQUENCES: list[Any] = [10**9, 2**70, 5, -1, 0, 1, "5", 2.5, True, None, [3], {"s": 3}]
WRONG_SHAPES: list[dict[str, Any]] = [
    {"op": 0, "t": ["NUMBERED"], "s": 3, "d": {}},
    {"op": 0, "t": {"a": 1}, "s": 3, "d": {}},
    {"op": 0, "t": 7, "s": 3, "d": {}},
    {"op": 0, "t": None, "s": 3, "d": {}},
    {"op": 0, "s": 3, "d": {}},
    {"op": 0, "t": "NUMBERED", "d": {"n": 99}},
    {"op": 0},
    {"op": 0, "t": "RESUMED", "s": 3, "d": {}},
    {"op": 0, "t": "READY", "s": 3, "d": {"session_id": "bogus"}},
    {"op": False, "t": "NUMBERED", "s": 3, "d": {"n": 99}},
    {"op": 0.0, "t": "NUMBERED", "s": 3, "d": {"n": 99}},
    {"op": "0", "t": "NUMBERED", "s": 3, "d": {"n": 99}},
]


@pytest.mark.parametrize("compression", ["none", "zlib-stream", "zstd-stream"])
async def test_bogus_sequence_is_dropped_and_never_moves_the_sequence(
    sim: DiscordSimulator,
    make_shard: MakeShard,
    caplog: pytest.LogCaptureFixture,
    compression: str,
) -> None:
    """Before: a big `s` was taken (every later dispatch dropped as a duplicate); a non-int
    `s` raised inside the receive loop (reconnect, "unexpected error")."""
    rec = Recorder()
    shard = await ready_shard(sim, make_shard, dispatch=rec, compression=compression)
    caplog.set_level(logging.INFO, logger="gateway")
    expected = []
    for n, bogus in enumerate(BOGUS_SEQUENCES, start=1):
        await sim.dispatch("NUMBERED", {"n": n})
        expected.append(n)
        await eventually(lambda: rec.numbers() == expected, what=str(rec.numbers()))
        caplog.clear()
        await send_json(newest(sim), {"op": 0, "t": "NUMBERED", "s": bogus, "d": {"n": -n}})
        await sim.dispatch("NUMBERED", {"n": 1000 + n})
        expected.append(1000 + n)
        await eventually(lambda: rec.numbers() == expected, what=f"{bogus!r}: {rec.numbers()}")
        session = sim.session()
        assert session is not None and shard.seq == session.seq, bogus
        assert len(sim.connections) == 1, bogus  # the connection was kept
        if bogus not in (1, 5):  # a duplicate (s <= seq) is dropped silently
            assert "dropped" in messages(caplog), bogus
    assert shard.state.dropped >= len(BOGUS_SEQUENCES) - 2


async def test_dispatch_of_the_wrong_shape_is_logged_and_dropped(
    sim: DiscordSimulator, make_shard: MakeShard, caplog: pytest.LogCaptureFixture
) -> None:
    rec = Recorder()
    shard = await ready_shard(sim, make_shard, dispatch=rec)
    session_id = shard.session_id
    caplog.set_level(logging.INFO, logger="gateway")
    expected = []
    for n, payload in enumerate(WRONG_SHAPES, start=1):
        await sim.dispatch("NUMBERED", {"n": n})
        expected.append(n)
        await eventually(lambda: rec.numbers() == expected, what=str(rec.numbers()))
        caplog.clear()
        await send_json(newest(sim), payload)
        await sim.dispatch("NUMBERED", {"n": 1000 + n})
        expected.append(1000 + n)
        await eventually(lambda: rec.numbers() == expected, what=f"{payload}: {rec.numbers()}")
        assert len(sim.connections) == 1, payload
        assert shard.session_id == session_id, payload
        text = messages(caplog)
        assert "dropped" in text or "ignored op" in text, payload
        assert "unexpected error" not in text, payload
    assert rec.names().count("READY") == 1 and "RESUMED" not in rec.names()


async def test_dispatch_before_ready_does_not_block_the_next_identify(
    sim: DiscordSimulator, make_shard: MakeShard, caplog: pytest.LogCaptureFixture
) -> None:
    """A dispatch with a big `s` before READY used to set the sequence, so READY (s=1) was
    dropped as a duplicate on every later IDENTIFY: the shard never became ready again."""
    caplog.set_level(logging.INFO, logger="gateway")
    sim.withhold_ready(True)
    shard = make_shard(sim)
    shard.start()
    await sim.wait_for(lambda: sim.identifies, what="IDENTIFY")
    await send_json(newest(sim), {"op": 0, "t": "GUILD_CREATE", "s": 10**6, "d": {}})
    await send_json(newest(sim), {"op": 0, "t": "RESUMED", "s": 10**6 + 1, "d": {}})
    # The shard handles frames in order: once it answers a heartbeat request sent after the
    # two, it has handled them (no fixed sleep to hope they were).
    beats = len(sim.heartbeats)
    await send_json(newest(sim), {"op": 1, "d": None})
    await sim.wait_for(lambda: len(sim.heartbeats) > beats, what="heartbeat after RESUMED")
    assert shard.status is not ShardStatus.READY  # RESUMED out of place is no READY
    sim.withhold_ready(False)
    await sim.close(4000, shard_id=None)
    await sim.wait_ready()
    await eventually(lambda: shard.status is ShardStatus.READY, what="ready after identify")
    assert shard.seq == 1
    assert "before READY" in messages(caplog)


@pytest.mark.parametrize(
    "ready",
    [
        {},
        {"session_id": None},
        {"session_id": 12345},
        {"session_id": ""},
        [1, 2],
        "ready",
    ],
    ids=repr,
)
async def test_ready_without_a_session_id_reconnects_and_identifies(
    sim: DiscordSimulator,
    make_shard: MakeShard,
    caplog: pytest.LogCaptureFixture,
    ready: Any,
) -> None:
    caplog.set_level(logging.INFO, logger="gateway")
    sim.withhold_ready(True)
    shard = make_shard(sim)
    shard.start()
    await sim.wait_for(lambda: sim.identifies, what="IDENTIFY")
    sim.withhold_ready(False)
    await send_json(newest(sim), {"op": 0, "t": "READY", "s": 1, "d": ready})
    await sim.wait_ready()
    await eventually(lambda: shard.status is ShardStatus.READY)
    assert len(sim.identifies) == 2
    assert isinstance(shard.session_id, str) and shard.session_id
    assert "invalid READY" in messages(caplog)
    assert "unexpected error" not in messages(caplog)


@pytest.mark.parametrize(
    "extra",
    [
        {"resume_gateway_url": 12345},
        {"resume_gateway_url": "not a url"},
        {"resume_gateway_url": "http://127.0.0.1:9/"},
        {"application": "xidx"},
        {"application": 5},
        {"application": {"id": None}},
    ],
    ids=repr,
)
async def test_ready_with_odd_fields_still_resumes_later(
    sim: DiscordSimulator,
    make_shard: MakeShard,
    caplog: pytest.LogCaptureFixture,
    extra: dict[str, Any],
) -> None:
    caplog.set_level(logging.INFO, logger="gateway")
    sim.withhold_ready(True)
    shard = make_shard(sim)
    shard.start()
    await sim.wait_for(lambda: sim.identifies, what="IDENTIFY")
    sim.withhold_ready(False)
    ready = {"session_id": "fake-session", "resume_gateway_url": sim.resume_gateway_url}
    await send_json(newest(sim), {"op": 0, "t": "READY", "s": 1, "d": ready | extra})
    await eventually(lambda: shard.status is ShardStatus.READY)
    assert (
        shard.state.resume_url == sim.resume_gateway_url
        or shard.state.resume_url == sim.gateway_url
    )
    assert shard.application_id is None
    await sim.drop_connection(shard_id=None)
    # the fake session is unknown to the simulator: op 9, then a fresh IDENTIFY
    await sim.wait_ready()
    await eventually(lambda: shard.status is ShardStatus.READY, timeout=10)
    assert "unexpected error" not in messages(caplog)
