"""Suite-wide: capture every log line (for the secrets check that runs last) and note every
secret the suite creates, so that check knows what to look for."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bench.harness import logcapture


def _note_secrets() -> None:
    """Wrap the constructors that receive secrets so their values are known to the check."""
    from asgi_app import settings
    from gateway.interactions import relay, signatures
    from gateway.rest import client as rest
    from gateway.simulator import DiscordSimulator, interaction_log

    def wrap(cls: Any, pick: Any) -> None:
        original = cls.__init__

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            for value in pick(self, args, kwargs):
                logcapture.add_secret(value)

        cls.__init__ = init

    wrap(settings.Secret, lambda self, a, k: [self.get()])
    wrap(DiscordSimulator, lambda self, a, k: [self.token])
    wrap(rest.DiscordRest, lambda self, a, k: [self._token])
    wrap(relay.InteractionRelay, lambda self, a, k: [self._auth_token])
    wrap(signatures.Ed25519Signer, lambda self, a, k: [_seed_hex(self._key)])

    add = interaction_log.InteractionLog.add

    def add_and_note(self: Any, record: Any) -> None:
        logcapture.add_secret(record.token)
        add(self, record)

    interaction_log.InteractionLog.add = add_and_note  # type: ignore[method-assign]


def _seed_hex(key: Any) -> str:
    from cryptography.hazmat.primitives import serialization as s

    raw: bytes = key.private_bytes(s.Encoding.Raw, s.PrivateFormat.Raw, s.NoEncryption())
    return raw.hex()


@pytest.fixture(scope="session", autouse=True)
def capture_logs() -> Iterator[logcapture.CaptureHandler]:
    logcapture.CAPTURE.unlink(missing_ok=True)
    handler = logcapture.CaptureHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    _note_secrets()
    yield handler
    root.removeHandler(handler)
