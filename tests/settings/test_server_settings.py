"""The process runner's variables (gunicorn.conf.py, the worker) go through the same schema."""

from __future__ import annotations

import io
import runpy
from pathlib import Path

import pytest

from asgi_app.settings import (
    ENV_SCHEMA,
    ServerSettings,
    SettingsError,
    load_server_settings,
    load_server_settings_or_exit,
    load_settings,
)
from tests.support.harness.logcapture import note_settings

ROOT = Path(__file__).resolve().parents[2]
PROD = {"BOT_TOKEN": "bot", "AUTH_TOKEN": "a" * 40, "ORIGIN_URL": "https://league.example"}


def test_defaults_need_no_secrets() -> None:
    server = load_server_settings({}, None)
    assert server == ServerSettings(
        port=8000,
        graceful_timeout=30,
        request_head_timeout_seconds=10.0,
        request_body_timeout_seconds=30.0,
        forwarded_allow_ips=("127.0.0.1",),
        log_level="INFO",
    )


def test_values_are_validated_and_typed() -> None:
    server = load_server_settings(
        {
            "PORT": "9001",
            "GRACEFUL_TIMEOUT": "45",
            "REQUEST_HEAD_TIMEOUT_SECONDS": "2.5",
            "REQUEST_BODY_TIMEOUT_SECONDS": "",  # empty is unset
            "FORWARDED_ALLOW_IPS": "10.0.0.0/8,*",
            "LOG_LEVEL": "warning",
        },
        None,
    )
    assert server.port == 9001 and server.graceful_timeout == 45
    assert server.request_head_timeout_seconds == 2.5
    assert server.request_body_timeout_seconds == 30.0
    assert server.forwarded_allow_ips == ("10.0.0.0/8", "*")
    assert server.log_level == "WARNING"
    with pytest.raises(SettingsError) as caught:
        load_server_settings(
            {
                "PORT": "0",
                "GRACEFUL_TIMEOUT": "soon",
                "REQUEST_HEAD_TIMEOUT_SECONDS": "-1",
                "REQUEST_BODY_TIMEOUT_SECONDS": "0",
                "FORWARDED_ALLOW_IPS": "proxy.local",
            },
            None,
        )
    names = [problem.split(":", 1)[0] for problem in caught.value.problems]
    assert names == [
        "PORT",
        "GRACEFUL_TIMEOUT",
        "REQUEST_HEAD_TIMEOUT_SECONDS",
        "REQUEST_BODY_TIMEOUT_SECONDS",
        "FORWARDED_ALLOW_IPS",
    ]
    assert "proxy.local" not in str(caught.value)


def test_the_app_settings_carry_the_same_fields() -> None:
    settings = note_settings(
        load_settings({**PROD, "GRACEFUL_TIMEOUT": "50", "PORT": "8100"}, None)
    )
    assert isinstance(settings, ServerSettings)
    assert settings.graceful_timeout == 50 and settings.port == 8100
    for name in ("PORT", "GRACEFUL_TIMEOUT", "REQUEST_HEAD_TIMEOUT_SECONDS", "FORWARDED_ALLOW_IPS"):
        assert name in ENV_SCHEMA.json_schema()["properties"], name


def test_env_file_fills_the_server_settings(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=8123\nGRACEFUL_TIMEOUT=12\n", encoding="utf-8")
    server = load_server_settings({"GRACEFUL_TIMEOUT": "13"}, env_file)
    assert (server.port, server.graceful_timeout) == (8123, 13)


def test_or_exit_prints_names_and_exits_non_zero() -> None:
    stream = io.StringIO()
    with pytest.raises(SystemExit) as caught:
        load_server_settings_or_exit({"PORT": "http"}, None, stream=stream)
    assert caught.value.code != 0
    assert "PORT" in stream.getvalue() and "http" not in stream.getvalue().replace("PORT", "")


def test_gunicorn_conf_reads_the_validated_values(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("PORT", "8555")
    monkeypatch.setenv("GRACEFUL_TIMEOUT", "40")
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.1.2.3, 10.0.0.0/8")
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["bind"].endswith(":8555")
    assert config["graceful_timeout"] == 40
    assert config["forwarded_allow_ips"] == "10.1.2.3,10.0.0.0/8"
    monkeypatch.setenv("GRACEFUL_TIMEOUT", "forever")
    with pytest.raises(SystemExit) as caught:
        runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert caught.value.code != 0
