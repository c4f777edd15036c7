"""The check the last test runs finds every kind of secret the suite notes, once it appears in
a log line: settings secrets, the simulator's bot token, the harness AUTH_TOKEN values and
interaction tokens (noted by the simulator, or shaped like the simulator's)."""

from __future__ import annotations

import logging
import secrets

from asgi_app.settings import load_settings
from gateway.simulator import DiscordSimulator, InteractionRecord
from gateway.simulator.interaction_log import InteractionLog
from tests.support.harness import app, logcapture, relay_stack


def _logged(message: str) -> str:
    """`message` as the capture handler writes it."""
    record = logging.LogRecord("proof", logging.INFO, __file__, 1, message, None, None)
    return logcapture.CaptureHandler().format(record) + "\n"


def test_each_noted_secret_logged_fails_the_check(noted_secrets: set[str]) -> None:
    password = "pw-" + secrets.token_hex(8)
    settings = logcapture.note_settings(
        load_settings(
            {
                "APP_ENV": "production",
                "BOT_TOKEN": "bot-" + secrets.token_urlsafe(24),
                "AUTH_TOKEN": "auth-" + secrets.token_urlsafe(32),
                "ORIGIN_URL": "https://league.example",
                "REDIS_URL": f"rediss://:{password}@cache:6380/0",
                "FORWARD_SIGNING_KEY": secrets.token_hex(32),
            },
            None,
        )
    )
    sim = DiscordSimulator(token="sim-" + secrets.token_urlsafe(24))
    interaction_token = "custom-" + secrets.token_urlsafe(24)  # not the simulator's shape
    InteractionLog().add(InteractionRecord({"id": "1", "token": interaction_token}, 0))
    made = [*settings.secret_values(), password, sim.token, interaction_token]
    made += [app.AUTH_TOKEN, relay_stack.AUTH]
    clean = _logged("forward failed for interaction 1 (status 502)")
    assert logcapture.leaks(clean, noted_secrets) == []
    for secret in made:
        assert secret in noted_secrets
        line = _logged(f"calling Discord with Authorization: Bot {secret} failed")
        assert secret[:6] + "..." in logcapture.leaks(clean + line, noted_secrets)


def test_a_simulator_shaped_interaction_token_fails_the_check_unnoted() -> None:
    token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
    assert token not in logcapture.SECRETS
    assert logcapture.leaks(_logged(f"POST /interactions/1/{token}/callback"), ()) != []
