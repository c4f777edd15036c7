"""Transport compression as Discord does it: one compressor per connection, flushed per message."""

from __future__ import annotations

import zlib
from typing import Protocol

import zstandard

ZLIB_SUFFIX = b"\x00\x00\xff\xff"


class Compressor(Protocol):
    binary: bool

    def compress(self, data: bytes) -> bytes: ...


class Identity:
    binary = False

    def compress(self, data: bytes) -> bytes:
        return data


class ZlibStream:
    """zlib-stream: one deflate stream; Z_SYNC_FLUSH after each message (ends 00 00 ff ff)."""

    binary = True

    def __init__(self) -> None:
        self._c = zlib.compressobj()

    def compress(self, data: bytes) -> bytes:
        return self._c.compress(data) + self._c.flush(zlib.Z_SYNC_FLUSH)


class ZstdStream:
    """zstd-stream: one zstd frame for the whole connection, a block flush after each message."""

    binary = True

    def __init__(self) -> None:
        self._c = zstandard.ZstdCompressor().compressobj()

    def compress(self, data: bytes) -> bytes:
        out: bytes = self._c.compress(data) + self._c.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK)
        return out


def make_compressor(name: str | None) -> Compressor:
    if name is None or name == "":
        return Identity()
    if name == "zlib-stream":
        return ZlibStream()
    if name == "zstd-stream":
        return ZstdStream()
    raise ValueError(f"unsupported compress={name!r}")


def corrupt(data: bytes) -> bytes:
    """Flip bytes in the middle of a compressed message, keep a zlib suffix where it had one."""
    body, suffix = (data[:-4], ZLIB_SUFFIX) if data.endswith(ZLIB_SUFFIX) else (data, b"")
    if not body:
        return b"\xff\xfe\xfd" + suffix
    mangled = bytes(b ^ 0xA5 for b in body[:16]) + body[16:]
    # A zlib stored/garbled header must not accidentally decode: prefix an invalid block type.
    return b"\xff" + mangled + suffix
