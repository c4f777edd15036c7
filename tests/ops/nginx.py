"""Debian's nginx in front of the server, with the README's configuration: the first ```nginx
block of "Behind a reverse proxy", ports substituted and TLS dropped, nothing else changed."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.harness.process import ROOT, VENV_BIN, ServerProcess, clean_env
from tests.support.harness.server import free_port
from tests.support.tools import require_tool

AUTH_TOKEN = "nginx-test-auth-token-0123456789abcdef"
ORIGIN = "https://app.example.com"


def readme_config(listen: int, backends: list[int]) -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Behind a reverse proxy") :]
    block = re.search(r"```nginx\n(.*?)```", section, re.S)
    assert block is not None, "README: no nginx block under 'Behind a reverse proxy'"
    config = block.group(1)
    servers = " ".join(f"server 127.0.0.1:{port};" for port in backends)
    for old, new in (
        ("listen 443 ssl;", f"listen 127.0.0.1:{listen};"),
        ("server 127.0.0.1:8000;", servers),
    ):
        assert old in config, old
        config = config.replace(old, new)
    return re.sub(r"^\s*ssl_certificate\S* .*;\n", "", config, flags=re.M)


class Nginx:
    """nginx -p DIR with the README's server block inside a minimal main configuration."""

    def __init__(
        self,
        directory: Path,
        backends: list[int],
        server_block: Callable[[int, list[int]], str] | None = None,
    ) -> None:
        """`server_block(listen, backends)`: the configuration inside `http { }` (default: the
        README's, `readme_config`)."""
        self.binary = require_tool("nginx", "/usr/sbin/nginx")
        self.dir = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.error_log = directory / "error.log"
        directory.mkdir(parents=True, exist_ok=True)
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp = "".join(
            f"{kind}_temp_path {directory}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        (directory / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {directory}/nginx.pid;\n"
            f"error_log {self.error_log} info;\nevents {{ worker_connections 512; }}\n"
            f"http {{\nlog_format upstreams '$remote_addr \"$request\" $status $upstream_addr';\n"
            f"access_log {directory}/access.log upstreams;\n{temp}"
            f"{(server_block or readme_config)(self.port, backends)}\n}}\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> Nginx:
        args = [self.binary, "-p", str(self.dir), "-e", str(self.error_log)]
        args += ["-c", str(self.dir / "nginx.conf")]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(100):
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"nginx exited: {self.proc.stderr and self.proc.stderr.read()!r}"
                )
            try:
                await asyncio.open_connection("127.0.0.1", self.port)
                return self
            except OSError:
                await asyncio.sleep(0.05)
        raise AssertionError("nginx did not listen")

    async def logged(self, needle: str, count: int = 1) -> list[str]:
        """Access log lines containing `needle`, once there are `count` (nginx writes a
        WebSocket's line when it closes)."""
        lines: list[str] = []
        for _ in range(100):
            log = self.dir / "access.log"
            lines = [line for line in log.read_text().splitlines() if needle in line]
            if len(lines) >= count:
                return lines
            await asyncio.sleep(0.05)
        raise AssertionError(f"{count} access log lines with {needle!r}: only {lines}")

    def errors(self) -> str:
        return self.error_log.read_text() if self.error_log.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


async def start_node(state_dir: Path, **env: str) -> tuple[ServerProcess, int]:
    """gunicorn with gunicorn.conf.py (development mode: its own embedded Discord simulator),
    trusting X-Forwarded-For from 127.0.0.1 only; answers once /health is 200."""
    port = free_port()
    environment = clean_env(
        APP_ENV="development",
        AUTH_TOKEN=AUTH_TOKEN,
        ORIGIN_URL=ORIGIN,
        STATE_DIR=str(state_dir),
        PORT=str(port),
        HOST="127.0.0.1",
        FORWARDED_ALLOW_IPS="127.0.0.1",
        GRACEFUL_TIMEOUT="20",
        **env,
    )
    state_dir.mkdir(parents=True, exist_ok=True)
    args = [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "asgi_app:app"]
    node = ServerProcess(args, env=environment, cwd=state_dir).start()
    await node.wait_http(f"http://127.0.0.1:{port}/health")
    return node, port


def client_from(address: str, base_url: str) -> httpx.AsyncClient:
    """An HTTP client whose connections leave from `address` (another loopback address)."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=base_url, transport=transport, timeout=10)
