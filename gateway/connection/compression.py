"""Transport compression: one inflater per connection, fed every WebSocket message in order.

`feed(message)` returns the bytes/str of a complete JSON payload, or None while a zlib-stream
payload is still incomplete (its last frame ends with the Z_SYNC_FLUSH suffix 00 00 ff ff).
A corrupt stream raises CompressionError; the shard answers it with a resumable reconnect.
So does a payload that would inflate past `max_size` (a decompression bomb) or a zlib-stream
message left unflushed past it: memory per connection stays bounded.
"""

from __future__ import annotations

import zlib
from typing import Final, Protocol

import zstandard

ZLIB_SUFFIX: Final = b"\x00\x00\xff\xff"
MAX_INFLATED_BYTES: Final = 64 << 20  # one payload, inflated (READY of a big bot is a few MiB)
INFLATE_STEP: Final = 1 << 20  # zlib output per call; payloads above it are inflated in steps


class CompressionError(Exception):
    """The compressed stream cannot be decoded (corrupt frame, wrong message type)."""


class Inflater(Protocol):
    def feed(self, message: bytes | str) -> bytes | bytearray | str | None: ...


class PlainInflater:
    """No transport compression: each message is one JSON payload (text or binary)."""

    __slots__ = ()

    def feed(self, message: bytes | str) -> bytes | str:
        return message


class ZlibStreamInflater:
    """zlib-stream: one zlib context for the whole connection; payloads may span frames.

    `feed` is a closure over the context and the join buffer (no attribute lookups): it runs
    once per WebSocket message.
    """

    __slots__ = ("feed",)

    def __init__(self, max_size: int = MAX_INFLATED_BYTES) -> None:
        inflater = zlib.decompressobj()
        decompress = inflater.decompress
        buffer = bytearray()
        suffix = ZLIB_SUFFIX
        step = INFLATE_STEP

        def inflate_large(out: bytes) -> bytearray:
            # Output of `step` bytes may have more behind it: go on a step at a time into one
            # buffer (a single unbounded call would hold a bomb whole, twice).
            joined = bytearray(out)
            while True:
                more = decompress(inflater.unconsumed_tail, step)
                joined += more
                if len(joined) > max_size:
                    raise CompressionError(f"zlib-stream: payload inflates past {max_size} bytes")
                if len(more) < step and not inflater.unconsumed_tail:
                    return joined

        def feed(message: bytes | str) -> bytes | bytearray | None:
            try:
                if buffer:
                    if len(buffer) + len(message) > max_size:
                        raise CompressionError(f"zlib-stream: {max_size} bytes without a flush")
                    # The suffix may itself be split across frames: test the joined bytes.
                    buffer.extend(message)  # type: ignore[arg-type]  # str: TypeError below
                    if not buffer.endswith(suffix):
                        return None
                    message = bytes(buffer)
                    buffer.clear()
                elif not message.endswith(suffix):  # type: ignore[arg-type]
                    buffer.extend(message)  # type: ignore[arg-type]
                    return None
                out = decompress(message, step)  # type: ignore[arg-type]
                if len(out) == step:
                    return inflate_large(out)
                return out
            except zlib.error as exc:
                raise CompressionError(f"zlib-stream: {exc}") from None
            except TypeError:
                raise CompressionError("text frame on a zlib-stream connection") from None

        self.feed = feed


class _BoundedSink:
    """Where the zstd stream writer puts inflated bytes; refuses to hold more than max_size."""

    __slots__ = ("buffer", "max_size")

    def __init__(self, max_size: int) -> None:
        self.buffer = bytearray()
        self.max_size = max_size

    def write(self, data: bytes) -> int:
        if len(self.buffer) + len(data) > self.max_size:
            raise CompressionError(f"zstd-stream: payload inflates past {self.max_size} bytes")
        self.buffer += data
        return len(data)


class ZstdStreamInflater:
    """zstd-stream: one zstd decompression context for the whole connection, written through
    a bounded sink (a decompressobj would inflate a bomb whole before we could look)."""

    __slots__ = ("_sink", "_writer")

    def __init__(self, max_size: int = MAX_INFLATED_BYTES) -> None:
        self._sink = _BoundedSink(max_size)
        self._writer = zstandard.ZstdDecompressor().stream_writer(
            self._sink,  # type: ignore[arg-type]  # it only needs write()
            write_size=1 << 17,
            write_return_read=True,
        )

    def feed(self, message: bytes | str) -> bytes | None:
        if isinstance(message, str):
            raise CompressionError("text frame on a zstd-stream connection")
        sink = self._sink
        try:
            self._writer.write(message)
        except zstandard.ZstdError as exc:
            raise CompressionError(f"zstd-stream: {exc}") from None
        if not sink.buffer:
            return None
        out = bytes(sink.buffer)
        sink.buffer.clear()
        return out


def make_inflater(compression: str, max_size: int = MAX_INFLATED_BYTES) -> Inflater:
    if compression == "zlib-stream":
        return ZlibStreamInflater(max_size)
    if compression == "zstd-stream":
        return ZstdStreamInflater(max_size)
    if compression == "none":
        return PlainInflater()
    raise ValueError(f"unknown gateway compression {compression!r}")
