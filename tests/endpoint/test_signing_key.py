"""The forward signing key: FORWARD_SIGNING_KEY, or generated once into STATE_DIR (0600)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from gateway.delivery.signatures import (
    load_public_key,
    public_key_hex,
    sign_ed25519,
    verify_ed25519,
)
from gateway.delivery.signing_key import FILE_NAME, SigningKeyError, load_signing_key

SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
# RFC 8032 test 1: the public key of SEED and its signature of the empty message.
PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
EMPTY_SIGNATURE = (
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
)


def test_configured_key_is_used_and_nothing_is_written(tmp_path: Path) -> None:
    key = load_signing_key(SEED.upper(), tmp_path)
    assert public_key_hex(key) == PUBLIC
    assert sign_ed25519(key, "", b"") == EMPTY_SIGNATURE
    assert not (tmp_path / FILE_NAME).exists()


def test_generated_once_mode_0600_and_reused_after_restart(tmp_path: Path) -> None:
    state = tmp_path / "state"
    first = load_signing_key(None, state)
    path = state / FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert len(text.strip()) == 64 and int(text, 16) >= 0
    again = load_signing_key(None, state)  # a restart
    assert public_key_hex(again) == public_key_hex(first)
    assert path.read_text() == text
    assert [p.name for p in state.iterdir()] == [FILE_NAME]  # no temporary file left


def test_a_loose_mode_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    path.write_text(SEED + "\n")
    path.chmod(0o644)
    assert public_key_hex(load_signing_key(None, tmp_path)) == PUBLIC
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_damaged_file_is_refused_without_its_content(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text("not-a-key-" + "ab" * 20)
    with pytest.raises(SigningKeyError) as caught:
        load_signing_key(None, tmp_path)
    assert "not-a-key" not in str(caught.value)


def test_two_processes_starting_together_share_the_winner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The other process links its key in between our read and our link: we use theirs."""
    real_link = os.link
    raced = threading.Event()

    def link_after_the_other(src: str, dst: str) -> None:
        if not raced.is_set():
            raced.set()
            Path(dst).write_text(SEED + "\n")
        real_link(src, dst)

    monkeypatch.setattr(os, "link", link_after_the_other)
    key = load_signing_key(None, tmp_path)
    assert public_key_hex(key) == PUBLIC
    assert (tmp_path / FILE_NAME).read_text() == SEED + "\n"
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]


def test_verify_ed25519_refuses_what_is_not_a_fresh_valid_signature() -> None:
    key = load_signing_key(SEED, Path("/nonexistent"))
    public = load_public_key(PUBLIC)
    now = 1_700_000_000
    ts = str(now)
    body = b'{"type":1}'
    good = sign_ed25519(key, ts, body)
    assert verify_ed25519(public, ts, body, good, now=now)
    assert verify_ed25519(public, ts, body, good.upper(), now=now + 300)
    assert not verify_ed25519(public, ts, body + b" ", good, now=now)  # body changed
    assert not verify_ed25519(public, str(now + 1), body, good, now=now)  # timestamp changed
    assert not verify_ed25519(public, ts, body, good, now=now + 301)  # stale
    assert not verify_ed25519(public, ts, body, good, now=now - 301)  # from the future
    assert not verify_ed25519(public, ts, body, None, now=now)
    assert not verify_ed25519(public, None, body, good, now=now)
    assert not verify_ed25519(public, ts, body, "zz" * 64, now=now)
    assert not verify_ed25519(public, ts, body, good[:-2], now=now)
    wide = "".join(chr(0xFF10 + int(digit)) for digit in ts)  # int() reads these digits too
    assert not verify_ed25519(public, wide, body, good, now=now)
    with pytest.raises(ValueError):
        load_public_key("ab" * 31)
