"""A real forward proxy (Debian's tinyproxy) on loopback, with Basic credentials, for the
tests of the outgoing-proxy support (gateway/egress.py)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.harness.server import free_port
from tests.support.tools import require_tool

USER, PASSWORD = "league", "pr0xy-secret"
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


def clear_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy variable of the machine's, either case, reaches the test."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@dataclass(frozen=True)
class Proxy:
    port: int
    log: Path

    def url(self, user: str = USER, password: str = PASSWORD) -> str:
        return f"http://{user}:{password}@127.0.0.1:{self.port}"

    def requests(self) -> list[str]:
        """The request lines the proxy was given (CONNECT host:port, or an absolute URL)."""
        if not self.log.exists():
            return []
        lines = self.log.read_text(errors="replace").splitlines()
        return [line.split("): ", 1)[1] for line in lines if "Request (file descriptor" in line]


@contextmanager
def tinyproxy(tmp: Path) -> Iterator[Proxy]:
    exe = require_tool("tinyproxy")
    port = free_port()
    log = tmp / "tinyproxy.log"
    conf = tmp / "tinyproxy.conf"
    conf.write_text(
        "\n".join(
            [
                f"Port {port}",
                "Listen 127.0.0.1",
                "Timeout 30",
                "MaxClients 50",
                "Allow 127.0.0.1",
                f'LogFile "{log}"',
                "LogLevel Connect",
                f"BasicAuth {USER} {PASSWORD}",
            ]
        )
        + "\n"
    )
    proc = subprocess.Popen(
        [exe, "-d", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("tinyproxy did not start") from None
                time.sleep(0.05)
        yield Proxy(port, log)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
