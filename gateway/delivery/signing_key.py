"""The forward signing key: FORWARD_SIGNING_KEY, or an Ed25519 key generated once into STATE_DIR.

The file holds the 32-byte private seed as 64 hex characters, mode 0600. It is created
atomically and never overwritten: written to a temporary file, then hard-linked into place, so
two processes starting together both end up with the one key that won, and a crash leaves no
half-written key. Restarts reuse it, so the public key the main app trusts stays the same.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.private_files import private_dir

log = logging.getLogger("gateway.relay")

FILE_NAME = "forward-signing-key"
FILE_MODE = 0o600


class SigningKeyError(Exception):
    """The key file exists but does not hold a key (never says what it holds)."""


def key_from_hex(seed_hex: str) -> Ed25519PrivateKey:
    """The private key of a 64-hex-character seed (ValueError otherwise)."""
    seed = bytes.fromhex(seed_hex.strip())
    if len(seed) != 32:
        raise ValueError("an Ed25519 private key seed is 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(seed)


def load_signing_key(configured: str | None, state_dir: Path) -> Ed25519PrivateKey:
    """FORWARD_SIGNING_KEY when given, else the key in STATE_DIR (created on first use)."""
    if configured:
        return key_from_hex(configured)
    path = Path(state_dir) / FILE_NAME
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    private_dir(path.parent)
    seed = secrets.token_bytes(32)
    if _create(path, seed.hex().encode("ascii") + b"\n"):
        log.info("forward signing key generated into %s", path)
        return Ed25519PrivateKey.from_private_bytes(seed)
    return _read(path)  # another process created it first: use theirs


def _read(path: Path) -> Ed25519PrivateKey:
    text = path.read_text(encoding="ascii", errors="replace")
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s was readable by others (mode %o): set to 0600", path, mode)
        path.chmod(FILE_MODE)
    try:
        return key_from_hex(text)
    except ValueError:
        raise SigningKeyError(f"{path} does not hold a 64-hex-character key") from None


def _create(path: Path, data: bytes) -> bool:
    """Write `data` to `path` unless it exists (False then); never a partial file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:  # a filesystem without hard links: replace, unless it appeared
            if path.exists():
                return False
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return True
