"""FORWARD_SIGNING_KEY (a masked secret) and DISCORD_PUBLIC_KEY: 64 hex characters each."""

from __future__ import annotations

import pytest

from asgi_app.settings import SettingsError, load_settings

PROD = {
    "BOT_TOKEN": "bot-token-0123456789",
    "AUTH_TOKEN": "auth-token-abcdefghijklmnopqrstuvwxyz012345",
    "ORIGIN_URL": "https://league.example.com",
}
SEED = "9D61B19DEFFD5A60BA844AF492EC2CC44449C5697B326919703BAC031CAE7F60"
PUBLIC = "D75A980182B10AB7D54BFED3C964073A0EE172F3DAA62325AF021A68F707511A"


def test_keys_read_lower_cased_and_the_private_one_masked() -> None:
    s = load_settings(PROD | {"FORWARD_SIGNING_KEY": SEED, "DISCORD_PUBLIC_KEY": PUBLIC}, None)
    assert s.forward_signing_key is not None
    assert s.forward_signing_key.get() == SEED.lower()
    assert s.discord_public_key == PUBLIC.lower()
    assert SEED.lower() not in repr(s) and PUBLIC.lower() in repr(s)
    assert repr(s.forward_signing_key) == "**********"
    assert SEED.lower() in s.secret_values()


def test_unset_by_default() -> None:
    s = load_settings(PROD, None)
    assert s.forward_signing_key is None and s.discord_public_key is None


def test_bad_keys_are_named_without_their_value() -> None:
    bad = "not-hex-" + "0" * 56
    with pytest.raises(SettingsError) as caught:
        load_settings(PROD | {"FORWARD_SIGNING_KEY": bad, "DISCORD_PUBLIC_KEY": "abcd"}, None)
    text = str(caught.value)
    assert "FORWARD_SIGNING_KEY: must be 64 hexadecimal characters" in text
    assert "DISCORD_PUBLIC_KEY: must be 64 hexadecimal characters" in text
    assert bad not in text and "abcd" not in text
