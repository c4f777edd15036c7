"""A bad environment: the server exits non-zero before serving, listing every problem, no value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.harness.server import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "short-but-secret-value"


def test_uvicorn_refuses_to_start_and_lists_every_problem(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "APP_ENV": "production",
        "AUTH_TOKEN": SECRET,  # too short
        "ORIGIN_URL": "not a url",
        "GATEWAY_COMPRESSION": "brotli",
        "RATE_LIMIT_PER_MINUTE": "many",
        # BOT_TOKEN missing
    }
    port = free_port()
    done = subprocess.run(
        [sys.executable, "-m", "uvicorn", "asgi_app:app", "--port", str(port)],
        cwd=tmp_path,  # no .env there
        env=env | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    for name in ("BOT_TOKEN", "AUTH_TOKEN", "ORIGIN_URL", "GATEWAY_COMPRESSION"):
        assert name in output, name
    assert "RATE_LIMIT_PER_MINUTE" in output
    assert SECRET not in output
    assert "brotli" not in output
    assert "not a url" not in output
    assert "Uvicorn running" not in output


def test_plain_http_to_a_remote_host_stops_the_start_naming_the_setting(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "APP_ENV": "production",
        "BOT_TOKEN": "bot-token-for-this-test",
        "AUTH_TOKEN": "a" * 40,
        "ORIGIN_URL": "https://league.example.com",
        "FORWARD_URL": "http://main-app.internal:3000/api/discord/interactions",
        "STATE_DIR": str(tmp_path / "state"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "uvicorn", "asgi_app:app", "--port", str(free_port())],
        cwd=tmp_path,
        env=env | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "FORWARD_URL: must be https unless its host is a loopback address" in output
    assert "ALLOW_INSECURE_URLS=true" in output
    assert "main-app.internal" not in output  # the value is never printed
    assert "ORIGIN_URL" not in output
    assert "Uvicorn running" not in output
    assert not (tmp_path / "state").exists()  # stopped before anything was made
