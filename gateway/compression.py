"""Transport compression: one inflater per connection, fed every WebSocket message in order.

`feed(message)` returns the bytes/str of a complete JSON payload, or None while a zlib-stream
payload is still incomplete (its last frame ends with the Z_SYNC_FLUSH suffix 00 00 ff ff).
A corrupt stream raises CompressionError; the shard answers it with a resumable reconnect.
"""

from __future__ import annotations

import zlib
from typing import Final, Protocol

import zstandard

ZLIB_SUFFIX: Final = b"\x00\x00\xff\xff"


class CompressionError(Exception):
    """The compressed stream cannot be decoded (corrupt frame, wrong message type)."""


class Inflater(Protocol):
    def feed(self, message: bytes | str) -> bytes | str | None: ...


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

    def __init__(self) -> None:
        decompress = zlib.decompressobj().decompress
        buffer = bytearray()
        suffix = ZLIB_SUFFIX

        def feed(message: bytes | str) -> bytes | None:
            try:
                if buffer:
                    # The suffix may itself be split across frames: test the joined bytes.
                    buffer.extend(message)  # type: ignore[arg-type]  # str: TypeError below
                    if not buffer.endswith(suffix):
                        return None
                    message = bytes(buffer)
                    buffer.clear()
                elif not message.endswith(suffix):  # type: ignore[arg-type]
                    buffer.extend(message)  # type: ignore[arg-type]
                    return None
                return decompress(message)  # type: ignore[arg-type]
            except zlib.error as exc:
                raise CompressionError(f"zlib-stream: {exc}") from None
            except TypeError:
                raise CompressionError("text frame on a zlib-stream connection") from None

        self.feed = feed


class ZstdStreamInflater:
    """zstd-stream: one zstd decompression context for the whole connection."""

    __slots__ = ("_inflater",)

    def __init__(self) -> None:
        self._inflater = zstandard.ZstdDecompressor().decompressobj()

    def feed(self, message: bytes | str) -> bytes | None:
        if isinstance(message, str):
            raise CompressionError("text frame on a zstd-stream connection")
        try:
            out: bytes = self._inflater.decompress(message)
        except zstandard.ZstdError as exc:
            raise CompressionError(f"zstd-stream: {exc}") from None
        return out or None


def make_inflater(compression: str) -> Inflater:
    if compression == "zlib-stream":
        return ZlibStreamInflater()
    if compression == "zstd-stream":
        return ZstdStreamInflater()
    if compression == "none":
        return PlainInflater()
    raise ValueError(f"unknown gateway compression {compression!r}")
