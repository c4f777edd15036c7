"""Unit tests of the pieces without sockets: protocol table, compression, limiter, backoff."""

from __future__ import annotations

import zlib

import orjson
import pytest
import zstandard

from gateway.clock import Clocks
from gateway.connection.backoff import Backoff
from gateway.connection.compression import (
    CompressionError,
    PlainInflater,
    ZlibStreamInflater,
    ZstdStreamInflater,
    make_inflater,
)
from gateway.connection.limiter import IdentifyThrottle, SendLimiter
from gateway.connection.protocol import CLOSE_CODES, CloseAction, close_rule, gateway_url

from .fakes import FakeTime


# ---- protocol ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "action"),
    [
        (None, CloseAction.RESUME),
        (1006, CloseAction.RESUME),
        (1011, CloseAction.RESUME),
        (1012, CloseAction.RESUME),
        (4000, CloseAction.RESUME),
        (4001, CloseAction.RESUME),
        (4002, CloseAction.RESUME),
        (4008, CloseAction.RESUME),
        (1000, CloseAction.IDENTIFY),
        (1001, CloseAction.IDENTIFY),
        (4003, CloseAction.IDENTIFY),
        (4005, CloseAction.IDENTIFY),
        (4007, CloseAction.IDENTIFY),
        (4009, CloseAction.IDENTIFY),
        (4004, CloseAction.FATAL),
        (4010, CloseAction.FATAL),
        (4011, CloseAction.FATAL),
        (4012, CloseAction.FATAL),
        (4013, CloseAction.FATAL),
        (4014, CloseAction.FATAL),
        (4900, CloseAction.RESUME),
    ],
)
def test_close_code_table(code: int | None, action: CloseAction) -> None:
    assert close_rule(code).action is action


def test_every_fatal_code_is_in_the_table_with_a_reason() -> None:
    fatal = {c for c, rule in CLOSE_CODES.items() if rule.action is CloseAction.FATAL}
    assert fatal == {4004, 4010, 4011, 4012, 4013, 4014}
    assert all(rule.reason for rule in CLOSE_CODES.values())


def test_gateway_url() -> None:
    assert gateway_url("wss://gateway.discord.gg", "zlib-stream") == (
        "wss://gateway.discord.gg/?v=10&encoding=json&compress=zlib-stream"
    )
    assert (
        gateway_url("wss://x.discord.gg/?v=9", "none") == "wss://x.discord.gg/?v=10&encoding=json"
    )
    assert gateway_url("ws://127.0.0.1:5/resume", "zstd-stream").startswith(
        "ws://127.0.0.1:5/resume?v=10&encoding=json&compress=zstd-stream"
    )
    with pytest.raises(ValueError, match="compression"):
        gateway_url("wss://x", "gzip")


# ---- compression -------------------------------------------------------------------------
def _zlib_messages(payloads: list[dict[str, object]]) -> list[bytes]:
    c = zlib.compressobj()
    return [c.compress(orjson.dumps(p)) + c.flush(zlib.Z_SYNC_FLUSH) for p in payloads]


def test_zlib_stream_one_context_and_frames_joined_until_suffix() -> None:
    payloads = [{"op": 0, "s": i, "t": "X", "d": {"n": i, "pad": "y" * 3000}} for i in range(20)]
    inflater = ZlibStreamInflater()
    decoded = []
    for message in _zlib_messages(payloads):
        # split each message in 3 WebSocket frames: only the last ends with 00 00 ff ff
        parts = [message[:5], message[5:-3], message[-3:]]
        outs = [inflater.feed(part) for part in parts]
        assert outs[0] is None and outs[1] is None
        assert outs[2] is not None
        decoded.append(orjson.loads(outs[2]))
    assert decoded == payloads


def test_zlib_stream_needs_its_own_context_per_connection() -> None:
    messages = _zlib_messages([{"op": 11}, {"op": 11, "d": 2}])
    fresh = ZlibStreamInflater()
    # The second message refers back to the first one's window: on its own it is corrupt
    # or at least not the original; a new connection must start with a new inflater.
    try:
        out = fresh.feed(messages[1])
        assert out != orjson.dumps({"op": 11, "d": 2})
    except CompressionError:
        pass


def test_zlib_corrupt_frame_raises() -> None:
    inflater = ZlibStreamInflater()
    with pytest.raises(CompressionError):
        inflater.feed(b"\xff\xfe\xfd\x00\x00\xff\xff")
    with pytest.raises(CompressionError):
        ZlibStreamInflater().feed("text")


def test_zstd_stream() -> None:
    c = zstandard.ZstdCompressor().compressobj()
    inflater = ZstdStreamInflater()
    for i in range(10):
        data = orjson.dumps({"op": 0, "s": i, "d": "z" * (i * 500)})
        message = c.compress(data) + c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        assert inflater.feed(message) == data
    with pytest.raises(CompressionError):
        ZstdStreamInflater().feed(b"\x00garbage-not-zstd")


def test_plain_and_factory() -> None:
    assert PlainInflater().feed('{"op":11}') == '{"op":11}'
    assert isinstance(make_inflater("zlib-stream"), ZlibStreamInflater)
    assert isinstance(make_inflater("zstd-stream"), ZstdStreamInflater)
    with pytest.raises(ValueError, match="compression"):
        make_inflater("br")


# ---- backoff -----------------------------------------------------------------------------
def test_backoff_exponential_full_jitter_capped_with_floor() -> None:
    b = Backoff(base=1.0, cap=60.0, floor=1.0, fast_attempts=2, clocks=Clocks(random=lambda: 1.0))
    assert [b.next_delay() for _ in range(9)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    low = Backoff(base=1.0, cap=60.0, floor=1.0, fast_attempts=2, clocks=Clocks(random=lambda: 0.0))
    delays = [low.next_delay() for _ in range(6)]
    assert delays[:2] == [0.0, 0.0]  # the first tries may be immediate
    assert all(d == 1.0 for d in delays[2:])  # then never more than one a second
    half = Backoff(clocks=Clocks(random=lambda: 0.5))
    assert [half.next_delay() for _ in range(4)] == [0.5, 1.0, 2.0, 4.0]
    half.reset()
    assert half.attempt == 0
    assert half.next_delay() == 0.5
    huge = Backoff(clocks=Clocks(random=lambda: 1.0))
    huge.attempt = 10_000
    assert huge.next_delay() == 60.0


# ---- limiter -----------------------------------------------------------------------------
async def test_send_limiter_window_and_priority_reserve() -> None:
    ft = FakeTime()
    lim = SendLimiter(limit=120, ordinary=115, window=60.0, clocks=ft.clocks)
    for _ in range(115):
        await lim.acquire()
    assert ft.now == 0.0
    for _ in range(5):
        lim.record_priority()  # heartbeats still fit
    assert lim.used == 120
    await lim.acquire()  # the 116th ordinary send waits for the window to roll
    assert ft.now == pytest.approx(60.0)
    assert lim.used <= 120


async def test_send_limiter_never_exceeds_limit_in_any_window() -> None:
    ft = FakeTime()
    lim = SendLimiter(limit=10, ordinary=8, window=1.0, clocks=ft.clocks)
    times: list[float] = []
    for i in range(100):
        await lim.acquire()
        times.append(ft.now)
        if i % 3 == 0:
            lim.record_priority()
            times.append(ft.now)
        ft.now += 0.01
    times.sort()
    for i, t in enumerate(times):
        in_window = [x for x in times[i:] if x < t + 1.0]
        assert len(in_window) <= 10


async def test_identify_throttle_per_bucket() -> None:
    ft = FakeTime()
    throttle = IdentifyThrottle(2, interval=5.0, clocks=ft.clocks)
    assert await throttle.acquire(0) == 0.0
    assert await throttle.acquire(1) == 0.0  # other bucket: no wait
    assert await throttle.acquire(2) == pytest.approx(5.0)  # bucket 0 again
    assert ft.now == pytest.approx(5.0)
    assert await throttle.acquire(3) == 0.0  # bucket 1's 5 s have passed meanwhile
    assert await throttle.acquire(1) == pytest.approx(5.0)
    assert ft.now == pytest.approx(10.0)
    ft.now = 100.0
    assert await throttle.acquire(4) == 0.0


def test_backoff_after_ready_keeps_only_the_fast_attempts_escalation() -> None:
    backoff = Backoff(
        base=1.0, cap=60.0, floor=1.0, fast_attempts=2, clocks=Clocks(random=lambda: 1.0)
    )
    assert [backoff.next_delay() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
    backoff.reached_ready(stable=False)
    assert backoff.next_delay() == 4.0  # not 64 -> 60: the path worked a moment ago
    backoff.reached_ready(stable=True)
    assert backoff.next_delay() == 1.0
    # Failed attempts in between (no READY) still escalate to the cap.
    assert [backoff.next_delay() for _ in range(8)][-1] == 60.0


async def test_identify_throttle_counts_from_the_send_plus_a_margin() -> None:
    ft = FakeTime()
    throttle = IdentifyThrottle(1, interval=5.0, margin=0.25, clocks=ft.clocks)
    assert await throttle.acquire(0) == 0.0
    ft.now = 2.0  # the connect and HELLO took 2 s; the IDENTIFY goes out now
    await throttle.sent(0)
    assert await throttle.acquire(0) == pytest.approx(5.25)  # from the send, not the acquire
    assert ft.now == pytest.approx(7.25)
    assert IdentifyThrottle(interval=0.0).margin == 0.0
