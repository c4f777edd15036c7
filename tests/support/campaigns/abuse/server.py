"""The production server (gunicorn + gunicorn.conf.py) as a subprocess for abuse runs.

Its output goes to a file, never a pipe: an attack makes the server log a lot, and a pipe
that nobody reads would block the server once it is full and look like a denial of service.
The worker's RSS is read from /proc (the gunicorn master forks one worker).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import httpx

from tests.support.harness import logcapture
from tests.support.harness.process import ROOT, VENV_BIN, clean_env

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: fields follow the last ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def rss_kib(pid: int) -> int:
    """Resident set size of `pid` in KiB (from /proc/PID/statm)."""
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * PAGE_KIB


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class GunicornServer:
    """`gunicorn -c gunicorn.conf.py asgi_app:app` on 127.0.0.1:`port`, env from `env`."""

    def __init__(self, env: dict[str, str], *, port: int, workdir: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.workdir = workdir
        self.log_path = workdir / "server.log"
        self.env = clean_env(**env, PORT=str(port), HOST="127.0.0.1", GRACEFUL_TIMEOUT="10")
        self.proc: subprocess.Popen[bytes] | None = None
        self.worker_pid = 0

    async def start(self, timeout: float = 60) -> GunicornServer:
        args = [str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "asgi_app:app"]
        with self.log_path.open("wb") as out:
            self.proc = subprocess.Popen(
                args,
                env=self.env,
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while loop.time() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(f"server exited early:\n{self.output()}")
                try:
                    # /health is 200 once the gateway is READY: the server is fully up.
                    if (await client.get(f"{self.url}/health")).status_code == 200:
                        workers = _children(self.proc.pid)
                        assert len(workers) == 1, workers
                        self.worker_pid = workers[0]
                        return self
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        await self.stop()
        raise AssertionError(f"server did not answer /health in {timeout} s:\n{self.output()}")

    def rss_kib(self) -> int:
        return rss_kib(self.worker_pid)

    def open_fds(self) -> int:
        return open_fds(self.worker_pid)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    async def stop(self, timeout: float = 20) -> str:
        """SIGTERM, wait (SIGKILL after `timeout`), hand the output to the suite's log check."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while proc.poll() is None and loop.time() < deadline:
                await asyncio.sleep(0.1)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        text = self.output()
        logcapture.record_output(text)
        return text
